-- adversarial: __lt and __eq that raise, and comparators that raise, inside table.sort
-- exit: 0
-- stdout: sort errors caught
local lt = {__lt = function() error("__lt says no") end, __eq = function() error("__eq says no") end}
local t = {}
for i = 1, 100 do t[i] = setmetatable({i = i}, lt) end
local ok, e = pcall(table.sort, t)
assert(not ok and tostring(e):find("__lt says no"), tostring(e))
ok, e = pcall(function() return t[1] == t[2] end)
assert(not ok and tostring(e):find("__eq says no"), tostring(e))
ok, e = pcall(table.sort, {3, 1, 2}, function(x, y) error({code = 42}) end)
assert(not ok and type(e) == "table" and e.code == 42)
ok, e = pcall(table.sort, {1, "two", 3})
assert(not ok and tostring(e):find("attempt to compare"), tostring(e))
-- every value is still there after the failed sorts
local seen = {}
for _, v in ipairs(t) do seen[v.i] = true end
for i = 1, 100 do assert(seen[i], "lost value " .. i) end
print("sort errors caught")
