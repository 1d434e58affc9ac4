-- adversarial: a new tag value on every add, a million times, to grow the metrics without bound
-- run: run --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- exit: 0
-- stdout: metric values dropped: new series over 1,000 per metric (--max-series)
-- stdout: per_request .......... 999,000 values
-- file: {{ALLOWED}}/s.json has "dropped_samples"
-- file: {{ALLOWED}}/s.json has "samples": 999000
options = {thresholds = {per_request = {"count>0"}}}
local m = Metrics.counter("per_request")
for i = 1, 1000000 do m:add(1, {request = tostring(i)}) end
local s = Metrics.stats("per_request")
assert(s.count == 1000, "kept " .. s.count .. " values; want the first 1,000 series'")
-- a series that exists keeps counting
m:add(5, {request = "1"})
assert(Metrics.stats("per_request{request:1}").count == 6)
