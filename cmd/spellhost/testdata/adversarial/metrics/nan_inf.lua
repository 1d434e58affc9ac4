-- adversarial: NaN and infinities into every kind of metric, with a threshold that fails too
-- run: run --summary-json={{ALLOWED}}/s.json --report={{ALLOWED}}/r.md {{SCRIPT}}
-- exit: 99
-- stderr: thresholds failed
-- file: {{ALLOWED}}/s.json has "status": "failed"
-- file: {{ALLOWED}}/r.md has FAILED
-- file: {{ALLOWED}}/s.json has "rate": null
options = {thresholds = {level = {"value<1"}}}
local nan, inf = 0 / 0, 1 / 0 -- (math.huge is the largest finite number here)
local kinds = {counter = Metrics.counter("c"), gauge = Metrics.gauge("level"), rate = Metrics.rate("r"), trend = Metrics.trend("t")}
for kind, m in pairs(kinds) do
  for _, bad in ipairs({nan, inf, -inf, 1e308 * 10, -(0 / 0)}) do
    local ok, err = pcall(m.add, m, bad)
    assert(not ok and err.type == "validation_error", kind .. ": " .. tostring(err))
    assert(err.message:find("finite number", 1, true), err.message)
  end
  m:add(5)
end
local ok, err = pcall(function() Metrics.gauge("level"):add(nan, {k = "v"}) end)
assert(not ok and err.type == "validation_error")
-- The largest finite values are kept; a counter's sum may overflow to
-- infinity, which the summary writes as null.
Metrics.counter("c"):add(1.7e308)
Metrics.counter("c"):add(1.7e308)
assert(Metrics.stats("level").value == 5)
