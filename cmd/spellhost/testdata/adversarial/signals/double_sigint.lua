-- adversarial: one Ctrl-C delivered twice within microseconds, as GNU timeout sends it to the child and its process group
-- run: run --summary-json={{ALLOWED}}/s.json --report={{ALLOWED}}/r.md --out=json={{ALLOWED}}/points.jsonl {{SCRIPT}}
-- mode: exec
-- signal: ready -> INT INT
-- exit: 105
-- stderr: stopping: finishing iterations and writing the summary
-- not: interrupted twice
-- file: {{ALLOWED}}/s.json has "status": "interrupted"
-- file: {{ALLOWED}}/r.md has INTERRUPTED
-- file: {{ALLOWED}}/points.jsonl has "metric":"work"
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "60s"}}}
local said = false
function default()
  if not said then said = true; print("ready") end
  Metrics.counter("work"):add(1)
  sleep(0.01)
end
function teardown() sleep(0.2) end
