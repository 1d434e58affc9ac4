-- adversarial: delete the secret or the outside folder through links in the writable folder (delete a file below a link, delete recursively through a link, move it away)
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: deletes through links refused; the links themselves removed

local A = "{{ALLOWED}}"
for _, p in ipairs({
  {operation = "delete", path = A .. "/outdir/secret.txt"},
  {operation = "move", source_path = A .. "/outdir/secret.txt", target_path = A .. "/got.txt"},
  {operation = "move", source_path = A .. "/outdir/.", target_path = A .. "/gotdir"},
}) do
  local r, err = Tool.try("file_operations", p)
  -- permission_denied through the link; validation_error for moving the
  -- link itself (outdir/. is outdir) where it would still lead out.
  assert(r == nil and (err.type == "permission_denied" or err.type == "validation_error"), JSON.encode(p) .. ": " .. tostring(err))
end
-- Deleting a link removes the link, not what it leads to, however the
-- path is spelled (paths are cleaned: outdir/ and outdir/. name the link).
local d = Tool.invoke("file_operations", {operation = "delete", path = A .. "/outdir/.", recursive = true})
assert(d.type == "symlink", d.type)
d = Tool.invoke("file_operations", {operation = "delete", path = A .. "/out"})
assert(d.type == "symlink", d.type)
print("deletes through links refused; the links themselves removed")
