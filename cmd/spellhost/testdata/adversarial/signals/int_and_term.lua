-- adversarial: SIGINT and SIGTERM arrive together, then a third signal at once
-- run: run --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- signal: ready -> INT TERM INT
-- exit: 105
-- not: interrupted twice
-- file: {{ALLOWED}}/s.json has "status": "interrupted"
options = {scenarios = {s = {executor = "constant-vus", vus = 1, duration = "60s"}}}
local said = false
function default()
  if not said then said = true; print("ready") end
  sleep(0.01)
end
function teardown() sleep(0.3) end
