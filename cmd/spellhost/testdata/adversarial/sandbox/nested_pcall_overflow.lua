-- adversarial: overflow the call stack inside nested pcalls and coroutines
-- exit: 0
-- stdout: overflows are clean errors
local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end
local ok, e = pcall(f)
assert(not ok and tostring(e):find("stack overflow"), "error: " .. tostring(e))
local function r() return 1 + r() end
local function nest(n) if n == 0 then return pcall(r) end return nest(n - 1) end
local ok2, e2 = nest(100)
assert(not ok2 and tostring(e2):find("stack overflow"), "error: " .. tostring(e2))
local function selfcall() return pcall(selfcall) end
assert(selfcall() ~= nil)
local function x() return xpcall(x, function(m) return m end) end
assert(x() ~= nil)
local function co() return coroutine.wrap(co)() end
ok, e = pcall(co)
assert(not ok and tostring(e):find("nested more than 200 deep"), "error: " .. tostring(e))
-- the state still works
assert(Tool.invoke("calculator", {input = "2+2"}).result == 4)
print("overflows are clean errors")
