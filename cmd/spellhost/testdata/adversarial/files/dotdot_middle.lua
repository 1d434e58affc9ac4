-- adversarial: climb out with .. in the middle of paths (after real folders, after a created folder, after a file, repeated), for reads and writes
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: dot-dot escapes refused: 16
-- stdout: inside: ok

local A = "{{ALLOWED}}"
Tool.invoke("file_operations", {operation = "create_dir", path = A .. "/a/b", recursive = true})
Tool.invoke("file_operations", {operation = "write", path = A .. "/a/f.txt", input = "f"})
local escapes = {
  A .. "/a/../../outside/secret.txt", A .. "/a/b/../../../outside/secret.txt", A .. "/./a/./../../outside/secret.txt",
  A .. "/a/f.txt/../../../outside/secret.txt", A .. "/a/b/../../../../../../../../../../etc/passwd",
  "../../../outside/secret.txt", "./x/../../../../outside/secret.txt", "{{DIR}}/../../../outside/secret.txt",
}
local n = 0
for _, p in ipairs(escapes) do
  local r, err = Tool.try("file_operations", {operation = "read", path = p})
  assert(r == nil and err.type == "permission_denied", "read " .. p .. ": " .. tostring(r and r.content or err))
  n = n + 1
  r, err = Tool.try("file_operations", {operation = "write", path = p:gsub("secret.txt$", "new.txt"), input = "x"})
  assert(r == nil and err.type == "permission_denied", "write " .. p .. ": " .. tostring(r and r.path or err))
  n = n + 1
end
print("dot-dot escapes refused: " .. n)
-- .. that stays inside is only a path.
local r = Tool.invoke("file_operations", {operation = "read", path = A .. "/a/b/../f.txt"})
assert(r.content == "f" and r.path == A .. "/a/f.txt", r.path)
print("inside: ok")
