-- adversarial: read /etc/passwd through links shipped beside the script (absolute, to /etc, and relative with enough ..) with every tool that reads files
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: links to /etc refused: 22
-- not: root:x:0:0

local n = 0
local function refused(tool, params, what)
  local r, err = Tool.try(tool, params)
  assert(r == nil, what .. " read through a link to /etc")
  assert(err.type == "permission_denied", what .. ": want permission_denied, got " .. tostring(err))
  assert(err.message:find("--allow-read=", 1, true), err.message)
  n = n + 1
end
for _, p in ipairs({"passwd", "etc/passwd", "deep", "{{DIR}}/etc/passwd"}) do
  refused("file_operations", {operation = "read", path = p}, "read " .. p)
  refused("hash_calculator", {operation = "hash", file = p}, "hash " .. p)
  refused("file_operations", {operation = "copy", source_path = p, target_path = "{{ALLOWED}}/copy"}, "copy " .. p)
  refused("base64_encoder", {operation = "encode", input_file = p}, "base64 " .. p)
  refused("file_converter", {operation = "line_endings", path = p, target_path = "{{ALLOWED}}/conv"}, "convert " .. p)
end
refused("file_search", {pattern = "root", path = "etc"}, "search etc")
refused("file_operations", {operation = "list_dir", path = "etc"}, "list etc")

-- A search of the script's folder passes the links over.
local s = Tool.invoke("file_search", {pattern = "0:0:" .. "root:", path = "."}) -- split: the script must not match itself
assert(#s.matches == 0 and s.summary.skipped_outside >= 2, "search followed a link out: " .. JSON.encode(s.summary) .. " " .. #s.matches)
-- Metadata describes the links, not /etc.
for _, p in ipairs({"passwd", "etc"}) do
  local m = Tool.invoke("file_operations", {operation = "metadata", path = p})
  assert(m.type == "symlink" and m.target == nil, p .. " described as " .. m.type)
end
print("links to /etc refused: " .. n)
