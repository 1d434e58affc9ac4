-- adversarial: very long paths and names (a 300-byte name, a 6000-byte path, a million-byte path, ten thousand ..) for reads, writes and folders
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: long paths answered: 12

local A = "{{ALLOWED}}"
local cases = {
  A .. "/" .. string.rep("n", 300),
  A .. "/" .. string.rep("d/", 3000) .. "f",
  A .. "/" .. string.rep("x", 1000000),
  A .. "/" .. string.rep("../", 10000) .. "outside/secret.txt",
}
local n = 0
for _, p in ipairs(cases) do
  for _, params in ipairs({
    {operation = "read", path = p},
    {operation = "write", path = p, input = "x", recursive = true},
    {operation = "create_dir", path = p, recursive = true},
  }) do
    local r, err = Tool.try("file_operations", params)
    assert(r == nil, params.operation .. " of a " .. #p .. "-byte path succeeded")
    assert(err.type == "execution_error" or err.type == "validation_error" or err.type == "permission_denied",
      params.operation .. ": " .. tostring(err))
    n = n + 1
  end
end
print("long paths answered: " .. n)
