-- adversarial: select('#', unpack(huge)) and unpack over a billion slots
-- exit: 0
-- stdout: unpack capped
local t = {}
for i = 1, 100000 do t[i] = i end
local ok, e = pcall(function() return select("#", unpack(t)) end)
assert(not ok and tostring(e):find("unpack: 100000 results exceed the limit of 65536"), tostring(e))
ok, e = pcall(unpack, {}, 1, 1e9)
assert(not ok and tostring(e):find("exceed the limit"), tostring(e))
ok, e = pcall(unpack, {}, -1e9, 1e9)
assert(not ok and tostring(e):find("exceed the limit"), tostring(e))
assert(select("#", unpack(t, 1, 65536)) == 65536)
print("unpack capped")
