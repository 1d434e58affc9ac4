-- raw_requests.lua
-- Teaches: Kernel.request, the kernel's raw request/reply protocol. Send a
-- request as a Lua table or as JSON text; the reply is always a table
-- {id, status = "ok"|"error", result, error = {type, message}}. Bad input
-- (malformed JSON, missing or unknown fields, wrong types) never raises:
-- it comes back as an error reply, so a script can test how the kernel
-- answers it.
--
-- run: spellhost run examples/raw_requests.lua
-- expect exit: 0

-- Well-formed requests, as tables. Commands: list, info, search, invoke, health.
local r = Kernel.request({id = "1", command = "list"})
print("list:", r.status, r.result.count .. " tools")
r = Kernel.request({id = "2", command = "info", name = "calculator"})
print("info:", r.status, r.result.name, #r.result.parameters .. " parameters")
r = Kernel.request({id = "3", command = "invoke", name = "calculator", params = {input = "6*7"}, timeout = "1s"})
print("invoke:", r.status, r.result.result)

-- The same as JSON text: JSON.encode builds it, or write it by hand.
r = Kernel.request(JSON.encode({id = "4", command = "search", query = "hash"}))
print("search:", r.status, r.result.tools[1].name)
r = Kernel.request('{"id":"5","command":"health"}')
print("health:", r.status, r.result.status)

-- Malformed and invalid requests on purpose. Each gets an error reply with
-- its own type; the id is echoed whenever the kernel could read it.
local bad = {
  {'{"id":"m1","command":',                            "validation_error"}, -- truncated JSON
  {'{"id":"m2", command: "list"}',                     "validation_error"}, -- unquoted key
  {'[1, 2, 3]',                                         "validation_error"}, -- not an object
  {'',                                                  "validation_error"}, -- empty
  {{id = "t1"},                                         "validation_error"}, -- no command
  {{id = "t2", command = "explode"},                    "not_found"},        -- unknown command
  {{id = "t3", command = 7},                            "validation_error"}, -- wrong field type
  {{id = "t4", command = "list", nmae = "x"},           "validation_error"}, -- unknown field (a typo)
  {{id = "t5", command = "invoke"},                     "validation_error"}, -- invoke without a name
  {{id = "t6", command = "invoke", name = "nope"},      "not_found"},        -- unknown tool
  {{id = "t7", command = "invoke", name = "calculator", params = {input = "1/0"}}, "execution_error"},
}
for _, c in ipairs(bad) do
  local rep = Kernel.request(c[1])
  assert(rep.status == "error", "expected an error reply")
  assert(rep.error.type == c[2], ("want %s, got %s: %s"):format(c[2], rep.error.type, rep.error.message))
  print(("%-4s %-17s %s"):format(rep.id, rep.error.type, rep.error.message))
end

-- After all that the kernel still serves.
assert(Kernel.request({command = "invoke", name = "calculator", params = {input = "1+1"}}).result.result == 2)
assert(Kernel.health().status == "ok")
print("kernel healthy after", #bad, "bad requests")
