-- Raw-sample output overhead: each iteration records 100 values (a trend
-- and a counter over four tag sets). Compare the iterations a run makes
-- without and with --out json / --out csv:
--   spellhost run scripts/bench/samples.lua                        # as fast as it goes
--   spellhost run --out json=/tmp/s.json scripts/bench/samples.lua
--   spellhost run --out csv=/tmp/s.csv scripts/bench/samples.lua
--   spellhost run scripts/bench/samples.lua -- paced             # 100,000 values/s exactly
-- The paced run holds 1,000 iterations/s: compare the service time and the
-- process's CPU time instead.
local paced = ARGS[1] == "paced"
local exec = {executor = "constant-vus", vus = 1, duration = "5s"}
if paced then
  exec = {executor = "constant-arrival-rate", rate = 1000, timeUnit = "1s", duration = "5s", preAllocatedVUs = 4}
end
options = {scenarios = {samples = exec}}

local lat = Metrics.trend("bench_latency", "time")
local hits = Metrics.counter("bench_hits")
local tags = {{name = "GET /a"}, {name = "GET /b"}, {name = "POST /c"}, {name = "GET /d"}}

function default()
  for i = 1, 50 do
    local t = tags[i % 4 + 1]
    lat:add(i * 0.5, t)
    hits:add(1, t)
  end
end
