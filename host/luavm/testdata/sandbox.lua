-- Forbidden functions are absent; the kept ones work.
local expect = require("expect")

for _, name in ipairs({"io", "debug", "package", "dofile", "loadfile", "module", "newproxy"}) do
  expect.eq(_G[name], nil, name)
end
for _, name in ipairs({"execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"}) do
  expect.eq(os[name], nil, "os." .. name)
end
expect.eq(type(os.time()), "number")
expect.eq(type(os.clock()), "number")
expect.eq(type(os.date("%Y")), "string")
expect.eq(os.difftime(10, 4), 6)

-- load compiles source text only
local f = loadstring("return 1 + 1")
expect.eq(f(), 2)
local g, err = load("\27Lua\81\0")
expect.eq(g, nil)
expect.truthy(err:find("bytecode"), err)
local parts = {"return ", "40 + 2"}
local i = 0
local h = load(function() i = i + 1 return parts[i] end)
expect.eq(h(), 42)
g, err = loadstring("return +")
expect.eq(g, nil)
expect.truthy(err:find("syntax error"), err)

-- pcall and error values
local ok, e = pcall(error, {code = 7})
expect.eq(ok, false)
expect.eq(e.code, 7)
expect.eq(select("#", pcall(function() return 1, 2, 3 end)), 4)
ok, e = pcall(pcall)
expect.eq(ok, false)
expect.truthy(tostring(e):find("value expected"), tostring(e))

-- size-checked builtins
ok, e = pcall(unpack, {}, 1, 1e8)
expect.eq(ok, false)
expect.truthy(tostring(e):find("results exceed the limit"), tostring(e))
expect.eq(select("#", unpack({1, 2, 3})), 3)
local t = {}
for k = 1, 1000 do t[k] = "abc" end
expect.eq(#table.concat(t, ","), 3999)
local big = {}
for k = 1, 600 do big[k] = string.rep("z", 4096) end
ok, e = pcall(table.concat, big)
expect.eq(ok, false)
expect.truthy(tostring(e):find("string limit"), tostring(e))
ok, e = pcall(table.concat, {1, {}, 3})
expect.truthy(not ok and tostring(e):find("invalid value"))

-- collectgarbage
expect.truthy(collectgarbage("count") > 0)
expect.eq(collectgarbage(), 0)
ok = pcall(collectgarbage, "bogus")
expect.eq(ok, false)

-- math.random is seeded and in range
for _ = 1, 100 do
  local n = math.random(3, 5)
  expect.truthy(n >= 3 and n <= 5)
  local x = math.random()
  expect.truthy(x >= 0 and x < 1)
end
math.randomseed(42)
local a = math.random(1, 1e6)
math.randomseed(42)
expect.eq(math.random(1, 1e6), a)
ok = pcall(math.random, 5, 1)
expect.eq(ok, false)
