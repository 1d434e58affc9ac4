-- adversarial: JSON.decode a text of small values, which takes many times its size once decoded
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local text = "[" .. string.rep("0,", 10000000) .. "0]"
local kept = {}
while true do kept[#kept + 1] = JSON.decode(text) end
