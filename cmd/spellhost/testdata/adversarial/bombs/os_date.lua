-- adversarial: os.date with a 64 MiB format (built about 640 MB in one call)
-- exit: 0
-- stdout: os.date capped
local function msg(e) return tostring(e):sub(1, 200) end
local fmt = string.rep("%c", 32 * 1024 * 1024)
local ok, e = pcall(os.date, fmt)
assert(not ok and tostring(e):find("os.date: result of at least .* exceeds the 134217728%-byte string limit"), msg(e))
fmt = nil
ok, e = pcall(os.date, "!" .. string.rep("x%c", 6 * 1024 * 1024))
assert(not ok and tostring(e):find("string limit"), msg(e))
assert(os.date("!%Y", 0) == "1970")
print("os.date capped")
