-- adversarial: NUL bytes in paths given to every file tool, including one that would climb out after the NUL
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: NUL paths refused: 10

local paths = {"a\0b", "{{ALLOWED}}/x\0/../../outside/secret.txt"}
local n = 0
local function refused(tool, params)
  local r, err = Tool.try(tool, params)
  assert(r == nil and err.type == "validation_error", tool .. ": " .. tostring(err))
  assert(err.message:find("NUL", 1, true), err.message)
  n = n + 1
end
for _, p in ipairs(paths) do
  refused("file_operations", {operation = "read", path = p})
  refused("file_operations", {operation = "write", path = p, input = "x"})
  refused("hash_calculator", {operation = "hash", file = p})
  refused("file_search", {pattern = "x", path = p})
  refused("file_watcher", {operation = "config", input = p})
end
print("NUL paths refused: " .. n)
