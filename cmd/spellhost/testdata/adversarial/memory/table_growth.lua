-- adversarial: grow a table of numbers without end (its array is copied as it grows)
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: exceeds --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local t = {}
local i = 0
while true do i = i + 1; t[i] = i end
