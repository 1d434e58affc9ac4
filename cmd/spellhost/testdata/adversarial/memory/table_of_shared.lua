-- adversarial: grow a table whose slots all hold one string, so the array is nearly all the memory
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: exceeds --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local t = {}
while true do t[#t + 1] = "x" end
