-- adversarial: copy a folder holding an absolute link to /etc and a relative link climbing out into the writable folder, then read /etc/passwd and the secret through the copies
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: tree copies refused: 3
-- stdout: inward links copied
-- not: root:x:0:0

local A = "{{ALLOWED}}"
local n = 0
for _, c in ipairs({{"tree", A .. "/tree"}, {"tree/sub", A .. "/sub"}, {"tree", A .. "/deep/er/tree"}}) do
  local r, err = Tool.try("file_operations", {operation = "copy", source_path = c[1], target_path = c[2], recursive = true})
  assert(r == nil and err.type == "validation_error", c[1] .. ": " .. tostring(r and r.target or err))
  assert(err.message:find("outside the allowed folder", 1, true), err.message)
  local e = Tool.invoke("file_operations", {operation = "exists", path = c[2]})
  assert(not e.exists, "a refused copy left " .. c[2])
  n = n + 1
end
print("tree copies refused: " .. n)
for _, p in ipairs({A .. "/tree/etc/passwd", A .. "/sub/up/outside/secret.txt"}) do
  local r, err = Tool.try("file_operations", {operation = "read", path = p})
  assert(r == nil, "read " .. p)
end
-- The listing of the folder shows no temporary copy left behind.
local l = Tool.invoke("file_operations", {operation = "list_dir", path = A})
assert(#l.entries == 0, JSON.encode(l.entries))
-- A tree whose links stay inside is copied, links as links.
Tool.invoke("file_operations", {operation = "copy", source_path = "tree2", target_path = A .. "/tree2", recursive = true})
local m = Tool.invoke("file_operations", {operation = "metadata", path = A .. "/tree2/l"})
assert(m.is_symlink and m.target == A .. "/tree2/a.txt", JSON.encode(m))
print("inward links copied")
