-- adversarial: tool names that try paths, globs, case tricks and control characters
-- exit: 0
local names = {"../calculator", "calculator\0", "Calculator", "*", "calc*", "", string.rep("a", 100000),
  "calculator ", "\ncalculator", "tools/calculator", "%s%s%s", "calculator;hash_calculator"}
for _, n in ipairs(names) do
  local r = Kernel.request({id = "n", command = "invoke", name = n, params = {input = "1+1"}})
  assert(r.status == "error", "invoked a tool named " .. string.format("%q", n:sub(1, 40)))
  assert(r.error.type == "not_found" or r.error.type == "validation_error", "got " .. tostring(r.error.type))
  local info = Kernel.request({id = "i", command = "info", name = n})
  assert(info.status == "error", "info answered for a tool named " .. string.format("%q", n:sub(1, 40)))
  assert(#info.error.message < 2000, "an error message echoes a huge name in full")
end
print("no tool reached by a crafted name")
