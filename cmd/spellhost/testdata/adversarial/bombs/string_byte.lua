-- adversarial: string.byte(s, 1, 1e7) on a 10 MB string (took 52s, quadratic, deaf to timeouts)
-- run: run --timeout=30s {{SCRIPT}}
-- exit: 0
-- stdout: string.byte capped
local s = string.rep("x", 1e7)
local ok, e = pcall(string.byte, s, 1, 1e7)
assert(not ok and tostring(e):find("string.byte: 10000000 results exceed the limit of 65536"), tostring(e))
ok, e = pcall(string.byte, s, -1e9, 1e9)
assert(not ok and tostring(e):find("exceed the limit"), tostring(e))
assert(select("#", string.byte(s, 1, 65536)) == 65536)
assert(select("#", string.byte(s, 1e7 - 2, 1e9)) == 3)
print("string.byte capped")
