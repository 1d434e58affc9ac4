-- adversarial: a protocol request whose params nest ten thousand levels deep
-- exit: 0
-- The decoder must answer with an error reply, not recurse until the
-- stack gives out.
local depth = 10000
local text = '{"id":"deep","command":"invoke","name":"calculator","params":' ..
  string.rep('{"a":', depth) .. '1' .. string.rep('}', depth) .. '}'
local r = Kernel.request(text)
assert(r.status == "error", "a 10,000-level request was accepted")
assert(r.error.type == "validation_error", "want validation_error, got " .. tostring(r.error.type))
-- The same through a table built in Lua: converting it must stop too.
local t = {}
local cur = t
for i = 1, depth do cur.a = {}; cur = cur.a end
local ok, err = pcall(Kernel.request, {id = "deep2", command = "invoke", name = "calculator", params = t})
if ok then
  assert(err.status == "error", "a 10,000-level table was accepted")
else
  assert(tostring(err):find("deep") or tostring(err):find("nest"), tostring(err))
end
print("deep requests refused")
