-- adversarial: send a tool 10 MiB payloads and keep every 13 MiB result
-- run: run --max-memory={{LIMIT}} --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- mode: exec
-- limits: 512MiB
-- peak: 1.25
-- exit: 111
-- stderr: --max-memory=
-- file: {{ALLOWED}}/s.json has "memory_limit"
local payload = string.rep("p", 10485760)
local kept = {}
while true do
  kept[#kept + 1] = Tool.invoke("base64_encoder", {operation = "encode", input = payload}).output
end
