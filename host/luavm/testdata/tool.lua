-- Tool.*: every function, with good and bad arguments.
local expect = require("expect")

-- list, categories, exists
local all = Tool.list()
expect.truthy(#all >= 10, "list size")
for i = 2, #all do expect.truthy(all[i - 1].name < all[i].name, "sorted") end
local util = Tool.list("utility")
for _, t in ipairs(util) do expect.eq(t.category, "utility") end
expect.eq(#Tool.list("no-such-category"), 0)
expect.eq(JSON.encode(Tool.list("no-such-category")), "[]")
local cats = Tool.categories()
expect.truthy(#cats >= 2, "categories")
expect.eq(Tool.exists("calculator"), true)
expect.eq(Tool.exists("nope"), false)

-- search filters
local hits = Tool.search("hash")
local names = {}
for _, h in ipairs(hits) do
  names[h.name] = true
  expect.truthy((h.name .. h.category .. h.description):lower():find("hash"), h.name)
end
expect.truthy(names.hash_calculator, "hash_calculator found")
expect.eq(names.calculator, nil, "the calculator does not match hash")
expect.eq(#Tool.search("zzz-nothing"), 0)
for _, t in ipairs(Tool.search("calc")) do expect.truthy(t.name:find("calc"), t.name) end

-- get
local spec = Tool.get("calculator")
expect.eq(spec.name, "calculator")
local names = {}
for _, p in ipairs(spec.parameters) do names[p.name] = p end
expect.eq(names.operation.default, "evaluate")
expect.eq(names.operation.enum[1], "evaluate")
expect.eq(names.input.type, "string")

-- invoke and try
local r = Tool.invoke("calculator", {input = "x * 2", variables = {x = 21}})
expect.eq(r.result, 42)
r = Tool.invoke("calculator", {input = "1+1"}, {timeout = "2s"})
expect.eq(r.result, 2)
r = Tool.invoke("calculator", {input = "1+1"}, {timeout = 0.5})
expect.eq(r.result, 2)
local res, err = Tool.try("calculator", {input = "1/0"})
expect.eq(res, nil)
expect.error_type(err, "execution_error")
expect.eq(err.tool, "calculator")
expect.truthy(err.where:find("tool.lua:%d+:"), "where")
expect.eq(tostring(err), "execution_error: tool calculator: division by zero")
res, err = Tool.try("calculator", {input = "1+2"})
expect.eq(res.result, 3)
expect.eq(err, nil)

-- every failure type is a catchable error value
expect.raises(function() Tool.invoke("nope", {}) end, "not_found")
expect.raises(function() Tool.invoke("calculator", {}) end, "validation_error")
expect.raises(function() Tool.invoke("calculator", {input = 5}) end, "validation_error")
expect.raises(function() Tool.invoke("calculator", {input = "1", bogus = 1}) end, "validation_error")
expect.raises(function() Tool.invoke("panicker") end, "internal")
local e = expect.raises(function() Tool.invoke("sleeper", {ms = 5000}, {timeout = "30ms"}) end, "timeout")
expect.truthy(tostring(e):find("timed out after 30ms"), tostring(e))
_, err = Tool.try("sleeper", {ms = 5000}, {timeout = 0.02})
expect.error_type(err, "timeout")
_, err = Tool.try("nope")
expect.error_type(err, "not_found")
expect.truthy(err.message:find('"nope"'), err.message)

-- parameters that cannot be converted
_, err = Tool.try("echo", {value = function() end})
expect.error_type(err, "validation_error")
expect.truthy(err.message:find("cannot convert a function"), err.message)
local cyc = {}
cyc.self = cyc
_, err = Tool.try("echo", {value = cyc})
expect.truthy(err.message:find("cycle"), err.message)
_, err = Tool.try("echo", {value = 0/0})
expect.truthy(err.message:find("not a JSON number"), err.message)
_, err = Tool.try("echo", {value = string.rep("x", 1000000) .. string.rep("y", 200000)})
expect.error_type(err, "too_large")
_, err = Tool.try("echo", {1, 2, 3})
expect.error_type(err, "validation_error")

-- values survive the round trip
r = Tool.invoke("echo", {value = {list = {1, "two", true}, empty = JSON.array(), nested = {a = {b = "c"}}}})
expect.eq(r.value.list[2], "two")
expect.eq(JSON.encode(r.value.empty), "[]")
expect.eq(r.value.nested.a.b, "c")

-- bad arguments to the bindings themselves raise validation errors naming them
local function bad(fn, pattern)
  local ok, e2 = pcall(fn)
  expect.eq(ok, false)
  expect.error_type(e2, "validation_error")
  expect.truthy(e2.message:find(pattern, 1, true), e2.message)
end
bad(function() Tool.invoke(42) end, "Tool.invoke: bad argument #1 'name': expected string, got number")
bad(function() Tool.invoke() end, "Tool.invoke: bad argument #1 'name': missing")
bad(function() Tool.invoke("calculator", "1+1") end, "bad argument #2 'params': expected table, got string")
bad(function() Tool.invoke("calculator", {input = "1"}, {timeout = "soon"}) end, "timeout: want a positive number")
bad(function() Tool.invoke("calculator", {input = "1"}, {timeout = -1}) end, "timeout: want a positive number")
bad(function() Tool.invoke("calculator", {input = "1"}, {retries = 3}) end, 'unknown option "retries"')
bad(function() Tool.invoke("calculator", {input = "1"}, {}, "extra") end, "unexpected extra argument")
bad(function() Tool.try(nil) end, "Tool.try: bad argument #1 'name'")
bad(function() Tool.get(1) end, "Tool.get: bad argument #1 'name': expected string, got number")
bad(function() Tool.exists({}) end, "Tool.exists: bad argument #1 'name': expected string, got table")
bad(function() Tool.search() end, "Tool.search: bad argument #1 'query': missing")
bad(function() Tool.list(5) end, "Tool.list: bad argument #1 'category': expected string, got number")
bad(function() Tool.categories("x") end, "unexpected extra argument")
expect.raises(function() Tool.get("nope") end, "not_found")
