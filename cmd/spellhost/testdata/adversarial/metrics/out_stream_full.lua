-- adversarial: the --out stream goes to a full device
-- run: run --out=json=/dev/full --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- exit: 1
-- stderr: --out json=/dev/full: write /dev/full: no space left on device
-- file: {{ALLOWED}}/s.json has "status": "passed"
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "1500ms"}}}
function default()
  for i = 1, 50 do Metrics.counter("c"):add(1, {i = i}) end
  sleep(0.001)
end
