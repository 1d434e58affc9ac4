-- adversarial: double a string with .. until the process dies, with the string limit raised out of the way
-- run: run --max-memory={{LIMIT}} --max-string-size=8GiB --summary-json={{ALLOWED}}/s.json --report={{ALLOWED}}/r.md {{SCRIPT}}
-- mode: exec
-- limits: 1GiB 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: string concatenation of
-- stderr: over --max-memory=
-- file: {{ALLOWED}}/s.json has "status": "memory_limit"
-- file: {{ALLOWED}}/r.md has MEMORY_LIMIT
local s = "x"
while true do s = s .. s end
