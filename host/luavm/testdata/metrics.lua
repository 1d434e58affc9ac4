-- Metrics: what a script may and may not write.
local expect = require("expect")

local function refused(fn, want)
  local ok, err = pcall(fn)
  expect.eq(ok, false)
  expect.eq(type(err), "table")
  expect.eq(err.type, "validation_error")
  if not tostring(err.message):find(want, 1, true) then
    error(("%s lacks %q"):format(tostring(err.message), want), 2)
  end
end

-- Values must be finite, whatever the kind.
for i, ctor in ipairs({Metrics.counter, Metrics.gauge, Metrics.rate, Metrics.trend}) do
  local m = ctor("finite_" .. i)
  refused(function() m:add(0 / 0) end, "finite number")
  refused(function() m:add(1 / 0) end, "finite number")
  refused(function() m:add(-1 / 0) end, "finite number")
  m:add(1)
end
local g = Metrics.gauge("level")
g:add(5)
refused(function() g:add(0 / 0) end, "finite number")
expect.eq(Metrics.stats("level").value, 5)

-- Built-in metrics are read-only for scripts.
for _, name in ipairs({"iterations", "checks", "vus", "tool_calls", "memory_rss", "task_outcomes", "iteration_duration"}) do
  refused(function() Metrics.counter(name) end, '"' .. name .. '"')
  refused(function() Metrics.trend(name) end, "built-in")
end
local before = Metrics.stats("iterations")
expect.eq(before ~= nil, true)

-- A metric object cannot be pointed at another metric.
local mine = Metrics.counter("mine")
refused(function() mine.name = "iterations" end, "cannot be set")
expect.eq(mine.name, "mine")
expect.eq(mine.kind, "counter")
expect.eq(getmetatable(mine), "metric")
refused(function() mine.add({}, 1) end, "with a colon")
local fake = setmetatable({name = "iterations"}, {__index = {add = mine.add}})
refused(function() fake:add(-1e6) end, "with a colon")
expect.eq(Metrics.stats("iterations").count, before.count)

-- Tags: bounded in number and length, strings, numbers or booleans.
refused(function() mine:add(1, {k = string.rep("v", 257)}) end, "(257 bytes)")
refused(function() mine:add(1, {[string.rep("k", 300)] = "v"}) end, "1 to 256 bytes")
local many = {}
for i = 1, 17 do many["t" .. i] = "v" end
refused(function() mine:add(1, many) end, "at most 16")
refused(function() mine:add(1, {k = {}}) end, "want a string")
refused(function() mine:add(1, {[1] = "v"}) end, "want a string")
refused(function() mine:add(1, {k = setmetatable({}, {__tostring = function() error("no") end})}) end, "want a string")
mine:add(2, {n = 3, ok = true})
expect.eq(Metrics.stats("mine{n:3,ok:true}").count, 2)

-- Metric names are checked.
refused(function() Metrics.counter(string.rep("x", 5000)) end, "at most 128")
refused(function() Metrics.counter("a b") end, "metric name")

-- check takes tags as k6's does: they reach the checks rate beside check=NAME.
expect.eq(check(1, {["alpha, beta"] = function(v) return v == 1 end}, {kind = "smoke", n = 2}), true)
expect.eq(Metrics.stats('checks{check:"alpha, beta",kind:smoke,n:2}').count, 1)
expect.eq(Metrics.stats('checks{check:"alpha, beta"}').rate, 1)
refused(function() check(1, {x = function() return true end}, {k = {}}) end, "want a string")
refused(function() check(1, {x = function() return true end}, "team") end, "expected table")
refused(function() check(1, {x = function() return true end}, many) end, "at most 16")
