-- adversarial: SIGTERM twice at once while setup() is still running
-- run: run --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- signal: ready -> TERM TERM
-- exit: 105
-- not: interrupted twice
-- file: {{ALLOWED}}/s.json has "status": "interrupted"
options = {scenarios = {s = {executor = "constant-vus", vus = 1, duration = "10s"}}}
function setup() print("ready") sleep(30) end
function default() sleep(0.01) end
