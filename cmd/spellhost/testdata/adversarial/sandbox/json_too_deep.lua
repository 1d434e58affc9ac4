-- adversarial: JSON nested deeper than the limit, which was silently replaced by "(nested too deep)"
-- exit: 0
-- stdout: deep JSON refused
local ok, e = pcall(JSON.decode, string.rep("[", 5000) .. string.rep("]", 5000))
assert(not ok and e.type == "validation_error" and e.message:find("more than 100 levels deep"), tostring(e))
ok, e = pcall(JSON.decode, string.rep('{"a":', 150) .. "1" .. string.rep("}", 150))
assert(not ok and e.type == "validation_error", tostring(e))
local deep = {}
local cur = deep
for i = 1, 200 do cur.x = {} cur = cur.x end
ok, e = pcall(JSON.encode, deep)
assert(not ok and e.type == "validation_error" and e.message:find("nested deeper"), tostring(e))
assert(not JSON.encode(JSON.decode(string.rep("[", 100) .. string.rep("]", 100))):find("nested too deep"))
print("deep JSON refused")
