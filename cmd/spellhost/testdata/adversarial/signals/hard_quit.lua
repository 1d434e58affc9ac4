-- adversarial: a second Ctrl-C well after the first, while teardown hangs: spellhost quits at once but keeps what it recorded
-- run: run --summary-json={{ALLOWED}}/s.json --report={{ALLOWED}}/r.md {{SCRIPT}}
-- mode: exec
-- signal: ready -> INT 1500ms INT
-- exit: 105
-- stderr: interrupted twice: quitting at once with what was recorded
-- file: {{ALLOWED}}/s.json has "stop_reason": "interrupted twice; quit at once"
-- file: {{ALLOWED}}/s.json has "name": "work"
-- file: {{ALLOWED}}/r.md has interrupted twice
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "60s"}}}
function default()
  Metrics.counter("work"):add(1)
  sleep(0.01)
  -- signalled once values have been flushed from the VUs (every 100ms)
  if Exec.scenario_iteration == 60 then print("ready") end
end
function teardown() sleep(60) end
