-- adversarial: start an allowed program in a folder outside the readable ones
-- run: run --allow-run=cat,ls {{SCRIPT}}
-- exit: 0
for _, wd in ipairs({"{{OUTSIDE}}", "../../../outside", "{{DIR}}/../../../outside", "/"}) do
  local r, err = Tool.try("process_executor", {executable = "cat", arguments = {"secret.txt"}, working_directory = wd})
  assert(r == nil, "cat ran in " .. wd .. ": " .. tostring(r and r.stdout))
  assert(err.type == "permission_denied", wd .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
  assert(err.message:find("--allow-read", 1, true), "message does not name the flag: " .. err.message)
end
