-- JSON.encode / JSON.decode / JSON.array / JSON.null
local expect = require("expect")

expect.eq(JSON.encode({b = 1, a = {true, "x"}}), '{"a":[true,"x"],"b":1}')
expect.eq(JSON.encode({}), "{}")
expect.eq(JSON.encode(JSON.array()), "[]")
expect.eq(JSON.encode("s\n"), '"s\\n"')
expect.eq(JSON.encode(1.5), "1.5")
expect.eq(JSON.encode(nil), "null")
expect.eq(JSON.encode(JSON.null), "null")
expect.eq(JSON.encode({1, JSON.null, 3}), "[1,null,3]")
expect.eq(JSON.encode({[1] = "a", [3] = "c"}), '{"1":"a","3":"c"}')
expect.eq(JSON.encode({a = 1}, {indent = 2}), '{\n  "a": 1\n}')

-- round trips keep arrays and objects apart
for _, text in ipairs({'[]', '{}', '{"a":[]}', '[[],{}]', '{"n":[1,2,3],"s":"x","t":true}'}) do
  expect.eq(JSON.encode(JSON.decode(text)), text, text)
end
local v = JSON.decode('{"a":null,"list":[1,null,3],"num":1e3}')
expect.eq(v.a, nil)
expect.eq(#v.list, 3)
expect.truthy(v.list[2] == JSON.null)
expect.eq(tostring(JSON.null), "null")
expect.eq(v.num, 1000)
expect.truthy(JSON.decode("null") == JSON.null)
expect.eq(JSON.decode('"x"'), "x")
expect.eq(JSON.decode('{"k":1,"k":2}').k, 2)

-- errors
local function bad(fn, pattern)
  local ok, e = pcall(fn)
  expect.eq(ok, false)
  expect.error_type(e, "validation_error")
  expect.truthy(e.message:find(pattern, 1, true), e.message)
end
bad(function() JSON.decode("{") end, "unexpected end of JSON text")
bad(function() JSON.decode('{"a":}') end, "malformed JSON at offset 5")
bad(function() JSON.decode("[1,2") end, "unexpected end")
bad(function() JSON.decode(5) end, "expected string, got number")
local cyc = {}
cyc.me = cyc
bad(function() JSON.encode(cyc) end, "me: table contains itself (a cycle)")
bad(function() JSON.encode({f = print}) end, "f: cannot convert a function")
bad(function() JSON.encode({x = {0/0}}) end, "x[1]: NaN is not a JSON number")
bad(function() JSON.encode({[true] = 1}) end, "a boolean cannot be a key")
bad(function() JSON.encode() end, "missing")
bad(function() JSON.encode({}, {indent = "x"}) end, "indent: want spaces or tabs")
bad(function() JSON.encode({}, {pretty = true}) end, 'unknown option "pretty"')
bad(function() JSON.array(5) end, "expected table, got number")
