-- adversarial: list the outside folder through a link in the writable folder: list_dir of the link, recursive listing, metadata and exists of entries behind it
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: listing stops at links
-- not: secret.txt

local A = "{{ALLOWED}}"
local l = Tool.invoke("file_operations", {operation = "list_dir", path = A, recursive = true, max_depth = 10})
local names = {}
for _, e in ipairs(l.entries) do
  names[#names + 1] = e.name .. "=" .. e.type
end
assert(table.concat(names, " ") == "mine.txt=file out=symlink outdir=symlink", table.concat(names, " "))
for _, p in ipairs({
  {operation = "list_dir", path = A .. "/outdir"},
  {operation = "list_dir", path = A .. "/outdir/", recursive = true},
  {operation = "metadata", path = A .. "/outdir/secret.txt"},
  {operation = "exists", path = A .. "/outdir/secret.txt"},
}) do
  local r, err = Tool.try("file_operations", p)
  assert(r == nil and err.type == "permission_denied", JSON.encode(p) .. ": " .. tostring(err))
end
local m = Tool.invoke("file_operations", {operation = "metadata", path = A .. "/outdir"})
assert(m.type == "symlink" and m.target == nil, "metadata followed the link out")
print("listing stops at links")
