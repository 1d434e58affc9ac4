-- adversarial: give the child a PATH of the script's choosing
-- run: run --allow-run=echo,ldd {{SCRIPT}}
-- exit: 0
-- PATH is a variable like any other: passing it needs --allow-env=PATH.
for _, prog in ipairs({"echo", "ldd"}) do
  local r, err = Tool.try("process_executor", {executable = prog, arguments = {"/bin/true"}, environment = {PATH = "{{DIR}}/fake"}})
  assert(r == nil, prog .. " ran with the script's PATH")
  assert(err.type == "permission_denied", "want permission_denied, got " .. err.type .. ": " .. err.message)
  assert(err.message:find("--allow-env=PATH", 1, true), "message does not name the flag: " .. err.message)
end
