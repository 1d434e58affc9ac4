-- adversarial: fn tasks that replace string.upper, Tool.invoke, metatables and globals, then a later task checks it got a clean state
-- exit: 0
-- stdout: every task started clean
options = {tasks = {workers = 1}, scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 1}}}
local function run(fn)
  local st = Task.wait(Task.submit{fn = fn}, 30)
  assert(st.state == "succeeded", st.state .. ": " .. tostring(st.error and st.error.message))
  return st.result
end
function pristine()
  assert(string.upper("abc") == "ABC", "string.upper was replaced")
  assert(("abc"):upper() == "ABC", "the string metatable was changed")
  assert(Tool.invoke("calculator", {input = "6*7"}).result == 42, "Tool.invoke was replaced")
  assert(poisoned == nil, "a global leaked from an earlier task")
  assert(type(os) == "table" and type(JSON.encode) == "function", "a library was dropped")
  local ok, e = pcall(Tool.invoke, "no_such_tool")
  assert(e.type == "not_found" and tostring(e):find("^not_found"), "error values changed: " .. tostring(e))
  return true
end
function default()
  run(pristine)
  for _, poison in ipairs({
    function() string.upper = function() return "pwned" end end,
    function() getmetatable("").__index = {upper = function() return "pwned" end} end,
    function() Tool.invoke = function() return {result = 0} end end,
    function() poisoned = true end,
    function() os = nil JSON.encode = nil end,
    function() local _, e = pcall(Tool.invoke, "x") getmetatable(e).__tostring = function() return "pwned" end end,
    function() setmetatable(_G, {__index = function() return "pwned" end}) end,
  }) do
    run(poison)
    assert(run(pristine))
  end
  print("every task started clean")
end
