-- adversarial: make a hard link to the secret (or any file) with the tools: a link operation, a copy that might link, ln through process_executor
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: no tool makes a hard link

local A = "{{ALLOWED}}"
for _, op in ipairs({"link", "hardlink", "symlink", "ln"}) do
  local r, err = Tool.try("file_operations", {operation = op, path = A .. "/h", source_path = "{{SECRET}}", target_path = A .. "/h"})
  assert(r == nil and err.type == "validation_error", op .. ": " .. tostring(err))
end
-- ln is a program: running it needs --allow-run.
local r, err = Tool.try("process_executor", {executable = "ln", arguments = {"{{SECRET}}", A .. "/h"}})
assert(r == nil and err.type == "permission_denied", "ln ran: " .. tostring(err))
-- A copy is a copy: changing it leaves the source alone.
Tool.invoke("file_operations", {operation = "write", path = A .. "/src.txt", input = "original"})
Tool.invoke("file_operations", {operation = "copy", source_path = A .. "/src.txt", target_path = A .. "/dst.txt"})
Tool.invoke("file_operations", {operation = "append", path = A .. "/dst.txt", input = " changed"})
local src = Tool.invoke("file_operations", {operation = "read", path = A .. "/src.txt"})
assert(src.content == "original", "the copy shares its data with the source: " .. src.content)
-- A copy of the secret is refused before anything is made.
r, err = Tool.try("file_operations", {operation = "copy", source_path = "{{SECRET}}", target_path = A .. "/h"})
assert(r == nil and err.type == "permission_denied", tostring(err))
local e = Tool.invoke("file_operations", {operation = "exists", path = A .. "/h"})
assert(not e.exists)
print("no tool makes a hard link")
