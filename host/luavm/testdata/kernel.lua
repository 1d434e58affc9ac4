-- Kernel.request with good and bad requests; Kernel.health.
local expect = require("expect")

local r = Kernel.request({id = "1", command = "list"})
expect.eq(r.id, "1")
expect.eq(r.status, "ok")
expect.truthy(r.result.count >= 10)
r = Kernel.request({id = "2", command = "invoke", name = "calculator", params = {input = "2+2"}, timeout = "1s"})
expect.eq(r.result.result, 4)
r = Kernel.request('{"id":"3","command":"search","query":"hash"}')
expect.truthy(r.result.count >= 1 and r.result.tools[1].name ~= "calculator")
r = Kernel.request({command = "info", name = "calculator"})
expect.eq(r.result.name, "calculator")
r = Kernel.request({command = "health"})
expect.eq(r.result.status, "ok")

-- bad requests get error replies, never a raise
local cases = {
  {'{"id":"m","command":', "validation_error", "malformed JSON"},
  {'', "validation_error", "empty"},
  {'[1]', "validation_error", "must be a JSON object"},
  {{id = "n"}, "validation_error", 'missing field "command"'},
  {{id = "u", command = "explode"}, "not_found", 'unknown command "explode"'},
  {{id = "t", command = 7}, "validation_error", 'field "command": expected string, got number'},
  {{id = "f", command = "list", nmae = "x"}, "validation_error", 'unknown field "nmae"'},
  {{id = "i", command = "invoke"}, "validation_error", 'missing field "name"'},
  {{id = "i", command = "invoke", name = "calculator", params = "x"}, "validation_error", 'field "params": expected object'},
  {{id = "i", command = "invoke", name = "calculator", params = {input = "1/0"}}, "execution_error", "division by zero"},
  {{id = "i", command = "invoke", name = "panicker"}, "internal", "panic"},
  {{id = "b", command = "invoke", name = "echo", params = {value = string.rep("x", 600000) .. string.rep("x", 500000)}}, "too_large", "larger than the request size limit"},
  {'{"id":"b","command":"list","category":"' .. string.rep("y", 600000) .. string.rep("y", 500000) .. '"}', "too_large", "exceeds the"},
}
for i, c in ipairs(cases) do
  local rep = Kernel.request(c[1])
  expect.eq(rep.status, "error", "case " .. i)
  expect.eq(rep.error.type, c[2], "case " .. i .. " type")
  expect.truthy(rep.error.message:find(c[3], 1, true), "case " .. i .. ": " .. rep.error.message)
end
-- ids are echoed even on malformed input
expect.eq(Kernel.request('{"id":"echoed","command":}').id, "echoed")

local h = Kernel.health()
expect.eq(h.status, "ok")
expect.truthy(h.goroutines > 0 and h.heap_bytes > 0 and h.tools >= 10)

local ok, e = pcall(Kernel.request, 5)
expect.eq(ok, false)
expect.truthy(e.message:find("expected table or string, got number", 1, true), e.message)
ok, e = pcall(Kernel.health, 1)
expect.truthy(not ok and e.message:find("unexpected extra argument", 1, true))

-- list replies are fresh tables each time: changing one changes no other
local l1 = Kernel.request({command = "list"})
local first = l1.result.tools[1].name
l1.result.tools[1].name = "changed"
table.remove(l1.result.tools)
local l2 = Kernel.request({command = "list"})
expect.eq(l2.result.tools[1].name, first)
expect.eq(#l2.result.tools, l2.result.count)
