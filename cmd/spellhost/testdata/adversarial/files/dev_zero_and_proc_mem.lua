-- adversarial: with /dev and /proc/self readable, read endless or special files: /dev/zero, /dev/urandom, /proc/self/mem, /dev/stdin, through every tool that reads files
-- run: run --allow-read=/dev,/proc/self --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: devices refused: 14
-- stdout: /proc/self/mem: execution_error

local n = 0
local function refused(tool, params, want)
  local r, err = Tool.try(tool, params)
  assert(r == nil, tool .. " read " .. JSON.encode(params))
  assert(err.type == (want or "validation_error"), tool .. ": " .. tostring(err))
  n = n + 1
  return err
end
for _, dev in ipairs({"/dev/zero", "/dev/urandom"}) do
  local err = refused("file_operations", {operation = "read", path = dev})
  assert(err.message:find("character device", 1, true), err.message)
  refused("hash_calculator", {operation = "hash", file = dev})
  refused("base64_encoder", {operation = "encode", input_file = dev})
  refused("file_operations", {operation = "copy", source_path = dev, target_path = "{{ALLOWED}}/c"})
  refused("file_converter", {operation = "line_endings", path = dev, target_path = "{{ALLOWED}}/c"})
  refused("image_processor", {operation = "metadata", file_path = dev})
end
-- /dev/stdin leads to /proc/self/fd/0: outside /proc/self once resolved, or a pipe.
local r, err = Tool.try("file_operations", {operation = "read", path = "/dev/stdin"})
assert(r == nil and (err.type == "permission_denied" or err.type == "validation_error" or err.type == "execution_error"), tostring(err))
n = n + 1
-- /dev/null is a device too, though it ends at once.
refused("file_operations", {operation = "read", path = "/dev/null"})
-- /proc/self/mem is a regular file of size 0 that cannot be read from its start.
r, err = Tool.try("file_operations", {operation = "read", path = "/proc/self/mem"})
assert(r == nil and err.type == "execution_error", "/proc/self/mem: " .. tostring(r and #r.content or err))
print("/proc/self/mem: " .. err.type)
print("devices refused: " .. n)
