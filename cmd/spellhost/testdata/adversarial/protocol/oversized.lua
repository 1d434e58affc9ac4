-- adversarial: a protocol request over --max-request-size is refused before it is parsed
-- run: run --max-request-size=64KiB {{SCRIPT}}
-- exit: 0
local big = string.rep("x", 200000)
local r = Kernel.request('{"id":"big","command":"invoke","name":"base64_encoder","params":{"input":"' .. big .. '"}}')
assert(r.status == "error" and r.error.type == "too_large", "want too_large, got " .. tostring(r.error and r.error.type))
-- As a table the limit holds too: the parameters are measured as they
-- are converted.
local r2 = Kernel.request({id = "big2", command = "invoke", name = "base64_encoder", params = {input = big}})
assert(r2.status == "error" and r2.error.type == "too_large", "table: want too_large, got " .. tostring(r2.error and r2.error.type))
print("oversized requests refused")
