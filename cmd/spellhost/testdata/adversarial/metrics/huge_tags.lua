-- adversarial: huge tag keys and values, too many tags, and tables as tags
-- exit: 0
local m = Metrics.counter("tagged")
local function refused(tags, want)
  local ok, err = pcall(m.add, m, 1, tags)
  assert(not ok and err.type == "validation_error", tostring(err))
  assert(err.message:find(want, 1, true), err.message)
  assert(#err.message < 400, "the error repeats the huge tag: " .. #err.message .. " bytes")
end
refused({k = string.rep("v", 10000000)}, "(10000000 bytes)")
refused({[string.rep("k", 1000000)] = "v"}, "1 to 256 bytes")
refused({["a:b"] = "c"}, "without = , :")
refused({k = "line\nbreak"}, "without newlines")
refused({k = ""}, "1 to 256 bytes")
local many = {}
for i = 1, 100000 do many["t" .. i] = "v" end
refused(many, "at most 16")
refused({k = {1, 2}}, "want a string, number or boolean")
refused({k = function() end}, "want a string, number or boolean")
refused({[true] = "v"}, "want a string")
m:add(1, {k = string.rep("v", 256)})
assert(Metrics.stats("tagged").count == 1)
-- A value with the tag syntax's own characters is kept whole, and a
-- quoted query names it.
m:add(1, {k = "a,b=c"})
assert(Metrics.stats('tagged{k:"a,b=c"}').count == 1)
assert(Metrics.stats("tagged").count == 2)
