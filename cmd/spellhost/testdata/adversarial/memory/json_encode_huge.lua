-- adversarial: JSON.encode a huge structure again and again, keeping every text
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local big = {}
for i = 1, 2000 do big[i] = {id = i, name = string.rep("n", 10000) .. i, tags = {"a", "b", i}} end
local texts = {}
while true do texts[#texts + 1] = JSON.encode(big) end
