-- adversarial: string.format widths and precisions of millions, and a result over the limit
-- exit: 0
-- stdout: string.format capped
for _, f in ipairs({"%99999999d", "%.99999999f", "%099999999s", "%-99999999x"}) do
  local ok, e = pcall(string.format, f, 1)
  assert(not ok and tostring(e):find("invalid format"), f .. ": " .. tostring(e))
end
local big = string.rep("x", 64 * 1024 * 1024)
local ok, e = pcall(string.format, "%s%s%s", big, big, big)
assert(not ok and tostring(e):find("string limit"), tostring(e))
print("string.format capped")
