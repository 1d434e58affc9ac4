-- adversarial: move and copy files onto links that lead out (to the secret, to the outside folder), hoping the rename follows the link
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: the link was replaced, the secret untouched

local A = "{{ALLOWED}}"
-- Onto a link to a file: the link is replaced, never written through.
local r = Tool.invoke("file_operations", {operation = "move", source_path = A .. "/mine.txt", target_path = A .. "/out"})
assert(r.target == A .. "/out", r.target)
local m = Tool.invoke("file_operations", {operation = "metadata", path = A .. "/out"})
assert(m.type == "file" and not m.is_symlink, "the link is still there")
assert(Tool.invoke("file_operations", {operation = "read", path = A .. "/out"}).content == "mine\n")
-- Into a link to a folder: refused; onto it: the link is replaced.
Tool.invoke("file_operations", {operation = "write", path = A .. "/two.txt", input = "two"})
local mv, err = Tool.try("file_operations", {operation = "move", source_path = A .. "/two.txt", target_path = A .. "/outdir/two.txt"})
assert(mv == nil and err.type == "permission_denied", tostring(err))
local c = Tool.invoke("file_operations", {operation = "copy", source_path = A .. "/two.txt", target_path = A .. "/outdir"})
m = Tool.invoke("file_operations", {operation = "metadata", path = A .. "/outdir"})
assert(m.type == "file" and m.size == 3, "a copy onto a link to a folder wrote through it")
print("the link was replaced, the secret untouched")
