-- adversarial: grow a string by long chains of .. with numbers and pieces, so no single step is big
-- run: run --max-memory={{LIMIT}} --max-string-size=8GiB --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local kept = {}
local piece = string.rep("y", 1048576)
while true do
  kept[#kept + 1] = piece .. #kept .. piece .. "-" .. piece .. 1.5
end
