-- adversarial: run code through BASH_ENV with an allowed program that is a bash script (ldd)
-- run: run --allow-run=ldd,git --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- ldd is a bash script: with BASH_ENV set, bash would source the hook
-- before ldd's own code. A variable passed to a child must be allowed by
-- --allow-env; BASH_ENV is not, so nothing runs.
Tool.invoke("file_operations", {operation = "write", path = "{{ALLOWED}}/hook.sh",
  input = "cat {{SECRET}}; echo $SPELLHOST_ADV_SECRET; touch {{ALLOWED}}/pwned\n"})
for _, name in ipairs({"BASH_ENV", "ENV"}) do
  local r, err = Tool.try("process_executor", {executable = "ldd", arguments = {"/bin/true"},
    environment = {[name] = "{{ALLOWED}}/hook.sh"}})
  assert(r == nil, "ldd ran with " .. name .. ": " .. tostring(r and r.stdout))
  assert(err.type == "permission_denied", name .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
  assert(err.message:find("--allow-env=" .. name, 1, true), "message does not name the flag: " .. err.message)
end
local e = Tool.invoke("file_operations", {operation = "exists", path = "{{ALLOWED}}/pwned"})
assert(e.exists == false, "the hook ran")
