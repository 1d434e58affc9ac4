-- adversarial: coroutines nested without end, and hoarded by the thousand
-- exit: 0
-- stdout: coroutines bounded
local function nest() return coroutine.wrap(nest)() end
local ok, e = pcall(nest)
assert(not ok and tostring(e):find("nested more than 200 deep"), tostring(e))
local hoard = {}
ok, e = pcall(function() for i = 1, 1e6 do hoard[i] = coroutine.create(function() end) end end)
assert(not ok and tostring(e):find("coroutines are alive in this VU"), tostring(e))
assert(#hoard <= 1000, #hoard)
hoard = nil
-- dropped coroutines do not count against the limit
for i = 1, 3000 do coroutine.wrap(function() coroutine.yield() end)() end
print("coroutines bounded")
