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
function default()
  Metrics.counter("work"):add(1)
  sleep(0.01)
  -- signalled once values have been flushed from the VUs (every 100ms)
  if Exec.scenario_iteration == 60 then print("ready") end
end
function teardown() sleep(0.2) end
