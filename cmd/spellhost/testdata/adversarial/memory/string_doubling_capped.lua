-- adversarial: double a string with .. under the default string limit
-- run: run --max-memory=1GiB --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- peak: 1.25
-- exit: 107
-- stderr: string concatenation: result of 268435456 bytes exceeds the 134217728-byte string limit
-- file: {{ALLOWED}}/s.json has "status": "error"
local s = "x"
while true do s = s .. s end
