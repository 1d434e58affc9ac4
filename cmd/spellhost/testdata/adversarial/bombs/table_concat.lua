-- adversarial: table.concat of a million 200-byte strings (200 MB, over the 128 MiB limit) and a billion-slot range
-- exit: 0
-- stdout: table.concat capped
local piece = string.rep("z", 200)
local t = {}
for i = 1, 1e6 do t[i] = piece end
local ok, e = pcall(table.concat, t)
assert(not ok and tostring(e):find("string limit"), tostring(e))
ok, e = pcall(table.concat, {}, ",", 1, 1e10)
assert(not ok and tostring(e):find("string limit"), tostring(e))
assert(#table.concat(t, "", 1, 1000) == 200000)
print("table.concat capped")
