-- adversarial: fill the metrics (series, checks, errors with huge messages) and then blow the memory limit, so the summary is built right after
-- run: run --max-memory={{LIMIT}} --max-string-size=8GiB --summary-json={{ALLOWED}}/s.json --report={{ALLOWED}}/r.md --out=json={{ALLOWED}}/points.jsonl {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "dropped_samples"
-- file: {{ALLOWED}}/r.md has MEMORY_LIMIT
-- file: {{ALLOWED}}/points.jsonl has "metric":"per_user"
options = {scenarios = {
  fill = {executor = "shared-iterations", vus = 2, iterations = 4},
  bomb = {executor = "per-vu-iterations", vus = 1, iterations = 1, exec = "bomb", startAfter = {"fill"}},
}}
local huge = string.rep("e", 104857600)
function default()
  local m = Metrics.trend("per_user")
  for i = 1, 20000 do m:add(i, {user = tostring(i)}) end
  for i = 1, 50 do check(i, {["check " .. i] = function() return i % 2 == 0 end}) end
  pcall(error, huge)
end
function bomb()
  sleep(1.2) -- let the per-second points be written
  local s = huge
  while true do s = s .. s end
end
