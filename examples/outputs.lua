-- outputs.lua
-- Teaches: the raw-sample outputs, which other tools read. --out json=FILE
-- writes every value as it is recorded in k6's NDJSON schema: a Metric
-- line the first time a metric appears,
--   {"type":"Metric","data":{"name":"op_ms","type":"trend","contains":"time","thresholds":["p(95)<50"],"submetrics":null},"metric":"op_ms"}
-- then a Point line per value:
--   {"type":"Point","data":{"time":"2026-05-09T14:34:45.239531499+02:00","value":1.5,"tags":{"op":"hash","scenario":"ops"}},"metric":"op_ms"}
-- --out csv=FILE writes one row per value in k6's columns; a name ending
-- in .gz is compressed. Both are flushed every second, so this follows a
-- run as it goes:
--   tail -f /tmp/spellhost-outputs.json | jq -c 'select(.type == "Point" and .metric == "op_ms") | .data.value'
-- --summary-export writes the end-of-run summary in the shape of k6's
-- --summary-export; --summary-trend-stats picks the trend figures (quote
-- percentiles in a shell: --summary-trend-stats 'avg,p(99),max').
--
-- run: spellhost run --out json=/tmp/spellhost-outputs.json --out csv=/tmp/spellhost-outputs.csv.gz --summary-export /tmp/spellhost-export.json --summary-trend-stats avg,med,max,count examples/outputs.lua
-- expect exit: 0

local op = Metrics.trend("op_ms", "time")

options = {
  scenarios = {ops = {executor = "shared-iterations", vus = 2, iterations = 40}},
  thresholds = {op_ms = {"p(95)<50"}, iteration_errors = {"count==0"}},
}

function default()
  local t0 = now()
  Tool.invoke("hash_calculator", {operation = "hash", input = "payload " .. Exec.scenario_iteration})
  op:add((now() - t0) * 1000, {op = "hash"})
end
