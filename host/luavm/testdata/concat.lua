-- The .. operator, compiled as a checked call: the same results, order,
-- metamethods and errors as the virtual machine's own concatenation.
local expect = require("expect")

expect.eq(1 .. 2, "12")
expect.eq(1.5 .. "", "1.5")
expect.eq("a" .. "b" .. 3 .. "c", "ab3c")
expect.eq(("x"):rep(3) .. ("y" .. "z"), "xxxyz")
expect.eq((("a" .. "b") .. "c") .. "d", "abcd")
expect.eq(select("#", "a" .. "b"), 1)

-- Operands are evaluated left to right, then joined.
local order = {}
local function v(x) order[#order + 1] = x return x end
expect.eq(v("p") .. v("q") .. v("r"), "pqr")
expect.eq(table.concat(order, ","), "p,q,r")

-- __concat, pairwise from the right, on either side.
local T = setmetatable({}, {__concat = function(a, b)
  local l = type(a) == "table" and "T" or a
  local r = type(b) == "table" and "T" or b
  return "[" .. l .. "+" .. r .. "]"
end})
expect.eq(T .. "x", "[T+x]")
expect.eq("x" .. T, "[x+T]")
expect.eq("a" .. "b" .. T .. "c" .. "d", "ab[T+cd]")

-- Errors read as before and name the line.
local ok, err = pcall(function() return "a" .. nil end)
expect.eq(ok, false)
expect.truthy(tostring(err):find("concat.lua:29: cannot perform concat operation between string and nil", 1, true), err)
ok, err = pcall(function() return {} .. "a" end)
expect.truthy(tostring(err):find("between table and string", 1, true), err)
ok, err = pcall(function() return "a" .. setmetatable({}, {__concat = function() error("inside") end}) end)
expect.truthy(tostring(err):find("inside", 1, true), err)

-- The hidden local is nowhere a script can see.
for k in pairs(_G) do expect.eq(tostring(k):find("concat", 1, true) == nil or k == "concat", true) end
local f = function() return "q" .. "r" end
setfenv(f, {})
expect.eq(f(), "qr")

-- Closures, coroutines, load, modules and tasks all concatenate.
local function wrap(s) return function(t) return s .. t end end
expect.eq(wrap("a")("b"), "ab")
local co = coroutine.wrap(function(a) local b = coroutine.yield(a .. "1") return b .. "2" end)
expect.eq(co("x"), "x1")
expect.eq(co("y"), "y2")
expect.eq(loadstring("return 'lo' .. 'ad'")(), "load")
function join3(a, b, c) return a .. b .. c end
local st = Task.wait(Task.submit{fn = function(a) return join3(a, "-", "task") .. "!" end, args = {"fn"}})
expect.eq(st.state, "succeeded")
expect.eq(st.result, "fn-task!")

-- Its size is checked before it is built (the harness allows 2 MiB).
local s = string.rep("x", 1048576)
expect.eq(#(s .. s), 2097152)
ok, err = pcall(function() return s .. s .. "x" end)
expect.eq(ok, false)
expect.truthy(tostring(err):find("string concatenation: result of 2097153 bytes exceeds the 2097152-byte string limit", 1, true), err)
local grow = "y"
ok, err = pcall(function() while true do grow = grow .. grow end end)
expect.truthy(tostring(err):find("string limit", 1, true), err)
expect.eq(#grow, 2097152)
