-- tool_errors.lua
-- Teaches: the two ways to call a tool. Tool.invoke returns the result and
-- raises an error value on failure (catch it with pcall); Tool.try returns
-- (result, nil) or (nil, err) and never raises for a failed call. Either
-- way the error is a table {type, message, tool, where} whose tostring is
-- "type: message", so a script branches on err.type.
--
-- run: spellhost run examples/tool_errors.lua
-- expect exit: 0

-- Tool.invoke: the happy path returns the tool's result table.
local r = Tool.invoke("calculator", {input = "2 + 3 * 4"})
print("2 + 3 * 4 =", r.result)

-- Tool.invoke raises on failure: pcall catches the error value.
local ok, err = pcall(Tool.invoke, "calculator", {input = "1/0"})
print("invoke 1/0 ->", ok, tostring(err))
print("  err.type =", err.type, " err.tool =", err.tool)

-- Tool.try returns the error as a second result instead of raising.
local res, e = Tool.try("calculator", {input = "1/0"})
assert(res == nil and e.type == "execution_error")

-- One handler for every kind of failure, branching on err.type.
local function classify(name, params, opts)
  local result, failure = Tool.try(name, params, opts)
  if not failure then return "ok" end
  local t = failure.type
  if t == "validation_error" then return "bad parameters: fix the call"
  elseif t == "not_found" then return "no such tool: " .. failure.tool
  elseif t == "execution_error" then return "the tool ran and failed"
  elseif t == "timeout" then return "too slow: retry with a longer timeout"
  elseif t == "injected" then return "an injected fault standing for " .. failure.injected
  else return "other: " .. t end
end

local cases = {
  {"calculator", {input = "6 * 7"}},                       -- ok
  {"calculator", {}},                                      -- missing input: validation_error
  {"calculator", {input = 5}},                             -- wrong type: validation_error
  {"no_such_tool", {}},                                    -- not_found
  {"calculator", {input = "1/0"}},                         -- execution_error
  {"calculator", {input = "1+1"}, {timeout = "50ms"}},     -- a per-call timeout that is not hit
}
for i, c in ipairs(cases) do
  print(("case %d: %s"):format(i, classify(c[1], c[2], c[3])))
end

-- Timeouts and injected failures, produced with a fault rule for the
-- length of one function (faults.lua covers Fault in depth).
Fault.with("tool:calculator", "hang", function()
  print("hung tool:", classify("calculator", {input = "1+1"}, {timeout = "30ms"}))
end)
Fault.with("tool:calculator", "error(unavailable)", function()
  print("injected:", classify("calculator", {input = "1+1"}))
end)

-- Bad arguments to Tool.try itself (a name that is not a string) still
-- raise: only failures of the call are returned.
local ok2, e2 = pcall(Tool.try, 42)
assert(not ok2 and e2.type == "validation_error")
print("Tool.try(42) raised:", e2.message)
