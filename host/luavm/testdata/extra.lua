-- Tool.register/unregister, Kernel.new, Metrics.stats, and bad input.
local expect = require("expect")

local n = #Tool.list()
expect.eq(Tool.register{name = "calc_copy", like = "calculator", description = "a copy"}, "calc_copy")
expect.eq(#Tool.list(), n + 1)
expect.eq(Tool.get("calc_copy").description, "a copy")
expect.eq(Tool.invoke("calc_copy", {input = "6*7"}).result, 42)
expect.eq(Kernel.request({command = "list"}).result.count, n + 1)  -- the list cache follows the registry
expect.eq(Tool.unregister("calc_copy"), true)
expect.eq(Tool.unregister("calc_copy"), false)
local _, err = Tool.try("calc_copy", {input = "1"})
expect.eq(err.type, "not_found")

-- another kernel: its own registry, the same tools
local k = Kernel.new()
expect.eq(k:invoke("calculator", {input = "2+2"}).result, 4)
local r, e = k:try("calculator", {input = "1/0"})
expect.eq(e.type, "execution_error")
expect.eq(k:request({id = "k", command = "health"}).result.status, "ok")
expect.eq(k:health().tools, n)
expect.truthy(tostring(k):find("kernel(", 1, true))
k:close()
expect.eq(k:health().status, "closed")
local _, ce = k:try("calculator", {input = "1"})
expect.eq(ce.type, "cancelled")
-- a tool registered in one kernel is not in the other
local k2 = Kernel.new()
Tool.register{name = "only_here", like = "calculator"}
expect.eq(k2:request({command = "info", name = "only_here"}).error.type, "not_found")
Tool.unregister("only_here")

-- metrics read back
local m = Metrics.counter("extra_hits")
m:add(3)
m:add(4, {kind = "b"})
local s = Metrics.stats("extra_hits")
expect.eq(s.count, 7)
expect.eq(Metrics.stats("extra_hits{kind:b}").count, 4)
expect.eq(Metrics.stats("never_declared"), nil)

local bad = {
  {function() Tool.register{name = "x"} end, "name and like are required"},
  {function() Tool.register{name = "x", like = "nope"} end, "not_found"},
  {function() Tool.register{name = "calculator", like = "calculator"} end, "calculator"},
  {function() Tool.register{name = "x", like = "calculator", colour = "red"} end, 'unknown field "colour"'},
  {function() Tool.register{name = 5, like = "calculator"} end, "expected string"},
  {function() Tool.register("x") end, "expected table"},
  {function() Tool.unregister() end, "missing"},
  {function() Kernel.new(1) end, "unexpected extra argument"},
  {function() k2.invoke("calculator", {}) end, "with a colon"},
  {function() Metrics.stats("bad{") end, "Metrics.stats"},
  {function() Metrics.memory() end, "only under spellhost run"},
  {function() Metrics.memory(-1) end, "expected a now() value"},
}
for i, c in ipairs(bad) do
  local ok, e = pcall(c[1])
  expect.eq(ok, false)
  if not tostring(e):find(c[2], 1, true) then
    error(("case %d: %s lacks %q"):format(i, tostring(e), c[2]))
  end
end
