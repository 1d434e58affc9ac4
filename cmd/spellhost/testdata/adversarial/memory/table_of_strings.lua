-- adversarial: keep making 100 KB strings with string.rep in VUs running in parallel
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 1GiB 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
options = {scenarios = {bomb = {executor = "constant-vus", vus = 4, duration = "60s"}}}
local kept = {}
function default()
  for i = 1, 100 do kept[#kept + 1] = string.rep("x", 100000) .. i end
end
