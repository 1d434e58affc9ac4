-- Fault.enable/disable/reset/list/with, both rule forms, and bad input.
local expect = require("expect")

local rule = Fault.enable("tool:calculator", "1*error(timeout)->off")
expect.eq(rule, "tool:calculator=1*error(timeout)->off")
local r, err = Tool.try("calculator", {input = "1+1"})
expect.eq(r, nil)
expect.eq(err.type, "injected")
expect.eq(err.injected, "timeout")
expect.truthy(tostring(err):find("injected timeout", 1, true))
r = Tool.invoke("calculator", {input = "1+1"})
expect.eq(r.result, 2)

local l = Fault.list()
expect.eq(#l, 1)
expect.eq(l[1].target, "tool:calculator")
expect.eq(l[1].calls, 2)
expect.eq(l[1].hits, 1)
expect.eq(l[1].active, false)

-- the table form, a single term and a chain
Fault.enable("tool:echo", {kind = "error", message = "disk full", count = 2})
local _, e1 = Tool.try("echo", {value = 1})
expect.eq(e1.injected, "disk full")
Fault.enable("tool:echo", {{kind = "off", count = 1}, {kind = "corrupt"}, after = 1})
expect.eq(Tool.invoke("echo", {value = 1}).value, 1)  -- skipped by after
expect.eq(Tool.invoke("echo", {value = 1}).value, 1)  -- the off term
expect.eq(Tool.invoke("echo", {value = 1}).value, 2)  -- corrupted: off by one
expect.eq(Fault.disable("tool:echo"), true)
expect.eq(Fault.disable("tool:echo"), false)
expect.eq(Fault.enable("tool:echo", {kind = "slow", percent = 30, p = 0.5}), "tool:echo=50%slow(30%)")
expect.eq(Tool.invoke("echo", {value = 1}).value, 1)  -- slower, still right
expect.eq(Fault.disable("tool:echo"), true)

-- Fault.with restores, returns fn's results, and re-raises
local a, b = Fault.with("tool:calc*", "down", function()
  local _, e = Tool.try("calculator", {input = "2"})
  return e.injected, 42
end)
expect.eq(a, "down")
expect.eq(b, 42)
expect.eq(#Fault.list(), 1)   -- the calculator rule from the start is still there
expect.eq(Tool.invoke("calculator", {input = "2*3"}).result, 6)
local ok, werr = pcall(Fault.with, "tool:calculator", "error", function() error("inside") end)
expect.eq(ok, false)
expect.truthy(tostring(werr):find("inside", 1, true))
expect.eq(Tool.invoke("calculator", {input = "2*3"}).result, 6)

-- protocol decoder faults reach Kernel.request
Fault.enable("protocol:decode", "1*truncate(5)->off")
local rep = Kernel.request('{"id":"x","command":"list"}')
expect.eq(rep.error.type, "validation_error")
rep = Kernel.request('{"id":"x","command":"list"}')
expect.eq(rep.status, "ok")

-- an injected panic leaves the kernel serving, and is not a real panic
Fault.enable("tool:echo", "1*panic(boom)->off")
local _, pe = Tool.try("echo", {value = 1})
expect.eq(pe.type, "injected")
expect.eq(Kernel.health().panics, 0)

Fault.reset()
expect.eq(#Fault.list(), 0)
expect.eq(Kernel.health().fault_rules, 0)

-- bad input names what is wrong
local bad = {
  {function() Fault.enable("tool:x", "explode") end, 'unknown kind "explode"'},
  {function() Fault.enable("disk:x", "error") end, "unknown boundary"},
  {function() Fault.enable("tool:x", 5) end, "expected failpoint terms"},
  {function() Fault.enable("tool:x", {kind = "delay", size = "1MB"}) end, 'delay does not take "size"'},
  {function() Fault.enable("tool:x", {kind = 3}) end, "kind: expected a string"},
  {function() Fault.enable("tool:x", {}) end, "neither kind nor a list"},
  {function() Fault.enable("tool:x", {{kind = "error"}, "off"}) end, "term 2: expected a table"},
  {function() Fault.enable("tool:x", {kind = "error", p = 2}) end, "percentage"},
  {function() Fault.enable("tool:x", {kind = "delay", latency = "soon"}) end, "latency"},
  {function() Fault.enable("tool:x", {kind = "error", message = "a->b"}) end, "may not contain"},
  {function() Fault.enable("tool:x", {kind = "slow", percent = "lots"}) end, "percent: expected a number"},
  {function() Fault.enable("tool:x", {kind = "slow", percent = 0}) end, "above 0%"},
  {function() Fault.enable("task:x", "slow(30%)") end, "use a tool:NAME target"},
  {function() Fault.disable() end, "missing"},
  {function() Fault.with("tool:x", "error", "notfn") end, "expected function"},
  {function() Fault.reset(1) end, "unexpected extra argument"},
}
for i, c in ipairs(bad) do
  local ok, e = pcall(c[1])
  expect.eq(ok, false)
  expect.eq(e.type, "validation_error")
  if not tostring(e):find(c[2], 1, true) then
    error(("case %d: %s lacks %q"):format(i, tostring(e), c[2]))
  end
end
