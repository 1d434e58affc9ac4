-- adversarial: create a file outside through a dangling link in the writable folder (write, append, create_dir, copy, move, convert, base64 output), then read it back
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: dangling links refused: 9
-- stdout: the link itself: symlink

local A = "{{ALLOWED}}"
local n = 0
local function refused(tool, params, what)
  local r, err = Tool.try(tool, params)
  assert(r == nil, what .. " through a dangling link succeeded: " .. tostring(r and (r.path or r.target or r.output_file)))
  assert(err.type == "permission_denied", what .. ": want permission_denied, got " .. tostring(err))
  assert(err.message:find("--allow-write=", 1, true) or err.message:find("--allow-read=", 1, true), err.message)
  n = n + 1
end

refused("file_operations", {operation = "write", path = A .. "/dang", input = "planted"}, "write")
refused("file_operations", {operation = "append", path = A .. "/dang", input = "planted"}, "append")
refused("file_operations", {operation = "write", path = A .. "/dangdir/f.txt", input = "planted", recursive = true}, "write below")
refused("file_operations", {operation = "create_dir", path = A .. "/dangdir/sub", recursive = true}, "create_dir")
refused("file_operations", {operation = "copy", source_path = "{{SCRIPT}}", target_path = A .. "/dangdir/s.lua", recursive = true}, "copy")
Tool.invoke("file_operations", {operation = "write", path = A .. "/mine.txt", input = "mine"})
refused("file_operations", {operation = "move", source_path = A .. "/mine.txt", target_path = A .. "/dangdir/m.txt", recursive = true}, "move")
refused("file_converter", {operation = "line_endings", path = A .. "/mine.txt", target_path = A .. "/dang"}, "convert")
refused("base64_encoder", {operation = "encode", input = "planted", output_file = A .. "/dang"}, "base64 output")
refused("file_operations", {operation = "read", path = A .. "/dang"}, "read")
print("dangling links refused: " .. n)

-- The link itself can be described and removed; its target is never made.
local m = Tool.invoke("file_operations", {operation = "metadata", path = A .. "/dang"})
assert(m.is_symlink and m.target == nil, "metadata followed a dangling link out")
print("the link itself: " .. m.type)
local e, err = Tool.try("file_operations", {operation = "exists", path = A .. "/dangdir/x"})
assert(e == nil and err.type == "permission_denied", "exists through a dangling link out: " .. tostring(e and e.exists or err))
local d = Tool.invoke("file_operations", {operation = "delete", path = A .. "/dangdir"})
assert(d.type == "symlink", "delete removed a " .. tostring(d.type))
