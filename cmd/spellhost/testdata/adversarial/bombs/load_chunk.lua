-- adversarial: loadstring of a 100 MB chunk (about 10 GB and minutes to compile)
-- exit: 0
-- stdout: load capped
local src = string.rep("x = 1 ", 17 * 1024 * 1024)
local ok, e = pcall(loadstring, src)
assert(not ok and tostring(e):find("loadstring: chunk of %d+ bytes exceeds the limit of 1048576"), tostring(e))
local pieces = 0
ok, e = pcall(load, function() pieces = pieces + 1 return string.rep(" ", 1024 * 1024) end)
assert(not ok and tostring(e):find("exceeds the limit"), tostring(e))
assert(pieces <= 2, pieces)
assert(loadstring("return 6 * 7")() == 42)
print("load capped")
