-- adversarial: __tostring that returns a table, nothing, or itself
-- exit: 107
-- stderr: (error object's __tostring returned a table, not a string)
-- not: [running]
local function obj(fn) return setmetatable({}, {__tostring = fn}) end
local returns_table = obj(function() return {} end)
local returns_nothing = obj(function() end)
local returns_self
returns_self = obj(function() return returns_self end)
for _, v in ipairs({returns_table, returns_nothing, returns_self}) do
  local ok, e = pcall(print, v)
  assert(not ok and tostring(e):find("'__tostring' must return a string"), tostring(e))
  ok, e = pcall(Logger.info, v)
  assert(not ok and tostring(e):find("'__tostring' must return a string"), tostring(e))
end
local m = Metrics.counter("tagged")
-- A tag value must be a string, number or boolean: a table is refused
-- by its type, and its __tostring is never called.
local ok, e = pcall(m.add, m, 1, {tag = returns_table})
assert(not ok and tostring(e):find("want a string, number or boolean"), tostring(e))
error(returns_table)
