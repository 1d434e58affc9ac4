-- Built-ins that build many values or bytes are capped; metamethods and
-- callbacks that raise are ordinary errors; coroutines behave.
local expect = require("expect")

local function raises(fn, pattern, ...)
  local ok, e = pcall(fn, ...)
  expect.eq(ok, false, pattern)
  local msg = type(e) == "table" and tostring(e.message) or tostring(e)
  expect.truthy(msg:find(pattern, 1, true), msg)
  return e
end

-- string.byte: Lua 5.1's defaults, clipped ranges, capped results
expect.eq({string.byte("abc")}, {97})
expect.eq({string.byte("abc", 2)}, {98})
expect.eq({string.byte("abc", 1, -1)}, {97, 98, 99})
expect.eq({string.byte("abc", -2, 10)}, {98, 99})
expect.eq(select("#", string.byte("abc", 3, 2)), 0)
expect.eq(select("#", string.byte("", 1, 1e9)), 0)
expect.eq(select("#", string.byte(string.rep("x", 65536), 1, -1)), 65536)
raises(string.byte, "string.byte: 100000 results exceed the limit of 65536", string.rep("x", 100000), 1, 1e7)

-- unpack: capped, and a full range is linear
expect.eq(select("#", unpack({}, 1, 65536)), 65536)
raises(unpack, "results exceed the limit", {}, 1, 65537)

-- os.date: C conversions, *t with yday and isdst, a size cap
expect.eq(os.date("!%Y-%m-%d %H:%M:%S", 86400 + 3723), "1970-01-02 01:02:03")
expect.eq(os.date("!%a %A %b %B %d %e %j %p %y %%", 0), "Thu Thursday Jan January 01  1 001 AM 70 %")
expect.eq(os.date("!%c", 0), "Thu Jan  1 00:00:00 1970")
expect.eq(os.date("!%x %X %D %F %T %R %I %w %U %W", 0), "01/01/70 00:00:00 01/01/70 1970-01-01 00:00:00 00:00 12 4 00 00")
expect.eq(os.date("!%q%", 0), "%q%")
local t = os.date("!*t", 86400 * 40 + 3600)
expect.eq({t.year, t.month, t.day, t.hour, t.yday, t.wday, t.isdst}, {1970, 2, 10, 1, 41, 3, false})
expect.eq(type(os.date()), "string")
raises(os.date, "os.date: result of at least", string.rep("%c", 3e5))
raises(os.date, "os.date: result of at least", string.rep("x", 5e5) .. string.rep("%c", 1e5))

-- table.concat, table.insert
expect.eq(table.concat({1, "a", 2.5}, "-"), "1-a-2.5")
local tt = {}
table.insert(tt, "b")
table.insert(tt, 1, "a")
table.insert(tt, 3, "c")
expect.eq(tt, {"a", "b", "c"})
raises(table.insert, "table.insert: position 60000000 is more than 1048576 past the end", {}, 6e7, 1)
raises(table.insert, "wrong number of arguments", {})

-- table.sort: default order, comparators, errors, inconsistent answers
local s = {5, 2, 8, 1, 9, 3}
table.sort(s)
expect.eq(s, {1, 2, 3, 5, 8, 9})
table.sort(s, function(a, b) return a > b end)
expect.eq(s, {9, 8, 5, 3, 2, 1})
local words = {"pear", "apple", "fig"}
table.sort(words)
expect.eq(words, {"apple", "fig", "pear"})
raises(table.sort, "attempt to compare", {1, "x", 2})
raises(table.sort, "comparator says no", {3, 2, 1}, function() error("comparator says no") end)
local lt = {__lt = function(a, b) return a.n < b.n end}
local objs = {}
for i = 1, 50 do objs[i] = setmetatable({n = (i * 37) % 50}, lt) end
table.sort(objs)
for i = 2, 50 do expect.truthy(objs[i - 1].n <= objs[i].n) end
local raising = {__lt = function() error("__lt raised") end}
raises(table.sort, "__lt raised", {setmetatable({}, raising), setmetatable({}, raising)})
local vals, seen = {}, {}
for i = 1, 500 do vals[i] = i end
local flip = 0
table.sort(vals, function(a, b) flip = flip + 1 return flip % 3 == 0 end)
for _, v in ipairs(vals) do seen[v] = (seen[v] or 0) + 1 end
for i = 1, 500 do expect.eq(seen[i], 1, "value " .. i .. " after an inconsistent sort") end

-- metamethods that raise are ordinary errors
local bad = setmetatable({}, {__tostring = function() error("no string for you") end})
raises(tostring, "no string for you", bad)
raises(print, "no string for you", bad)
raises(Logger.info, "no string for you", bad)
raises(print, "'__tostring' must return a string, not a table", setmetatable({}, {__tostring = function() return {} end}))
raises(function() return bad .. "x" end, "cannot perform concat operation between table and string")
local eq = {__eq = function() error("__eq raised") end}
raises(function() return setmetatable({}, eq) == setmetatable({}, eq) end, "__eq raised")
raises(string.gsub, "gsub callback raised", "abc", "%w", function() error("gsub callback raised") end)
local hostile = {__index = function() error("never called") end, __len = function() error("never called") end,
  __eq = function() error("never called") end, __tostring = function() error("never called") end}
expect.eq(JSON.encode(setmetatable({a = 1, b = {2}}, hostile)), '{"a":1,"b":[2]}')
raises(JSON.encode, "[1]: cannot convert a function", setmetatable({print}, hostile))

-- JSON.decode refuses nesting past the limit, naming it
local deep = string.rep("[", 102) .. string.rep("]", 102)
local e = raises(JSON.decode, "more than 100 levels deep", deep)
expect.error_type(e, "validation_error")
expect.eq(#JSON.encode(JSON.decode(string.rep("[", 101) .. string.rep("]", 101))), 202)
raises(JSON.decode, "more than 100 levels deep", string.rep('{"a":', 101) .. "1" .. string.rep("}", 101))

-- timeouts too small to tell from zero are errors, never the default
e = raises(Tool.invoke, "1e-12s is below the 1ms minimum", "calculator", {input = "1+1"}, {timeout = 1e-12})
expect.error_type(e, "validation_error")
raises(Task.submit, "below the 1ms minimum", {tool = "calculator", params = {input = "1"}, timeout = 1e-12})
raises(Task.wait, "below the 1ms minimum", "t-000001", "1ns")
local rep = Kernel.request({id = "x", command = "invoke", name = "calculator", params = {input = "1+1"}, timeout = 1e-12})
expect.eq(rep.status, "error")
expect.truthy(rep.error.message:find("below the 1ms minimum", 1, true), rep.error.message)
expect.eq(Tool.invoke("calculator", {input = "1+1"}, {timeout = 0.001}).result, 2)

-- coroutines: usual semantics, nesting and live counts capped
local gen = coroutine.wrap(function(a)
  local b = coroutine.yield(a + 1)
  local c = coroutine.yield(b * 2)
  return "done", c
end)
expect.eq(gen(1), 2)
expect.eq(gen(5), 10)
expect.eq({gen(7)}, {"done", 7})
raises(gen, "dead")
local co = coroutine.create(function() error({code = 3}) end)
local ok, err = coroutine.resume(co)
expect.eq(ok, false)
expect.eq(err.code, 3)
expect.eq(coroutine.status(co), "dead")
local wrapped = coroutine.wrap(function() error("inner failure") end)
raises(wrapped, "inner failure")
local function nest() return coroutine.wrap(nest)() end
raises(nest, "nested more than 200 deep")
local many = {}
raises(function() for i = 1, 1001 do many[i] = coroutine.create(print) end end, "1000 coroutines are alive")
many = nil
for i = 1, 5000 do coroutine.wrap(function() coroutine.yield() end)() end -- dropped ones do not count

-- load and loadstring: source text capped (1 MiB by default)
expect.eq(type(loadstring(string.rep(" ", 1048576))), "function")
local piece, pieces = string.rep(" ", 524288), 0
raises(load, "exceeds the limit of 1048576",
  function() pieces = pieces + 1 if pieces <= 3 then return piece end end)
