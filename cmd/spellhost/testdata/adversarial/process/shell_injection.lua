-- adversarial: smuggle a shell command through the program name or its arguments
-- run: run --allow-run=echo {{SCRIPT}}
-- exit: 0
-- No shell is involved: metacharacters reach echo as they are, and a
-- program name with a command in it names no program.
for _, exe in ipairs({"echo; cat {{SECRET}}", "echo $(cat {{SECRET}})", "echo `cat {{SECRET}}`", "echo\ncat"}) do
  local r, err = Tool.try("process_executor", {executable = exe})
  assert(r == nil, exe .. " ran")
  assert(err.type == "execution_error" or err.type == "validation_error" or err.type == "permission_denied",
    exe .. ": unexpected " .. err.type .. ": " .. err.message)
end
local args = {"$(cat {{SECRET}})", "`cat {{SECRET}}`", ";", "cat", "{{SECRET}}", "|", "cat", "{{SECRET}}"}
local r = Tool.invoke("process_executor", {executable = "echo", arguments = args})
assert(r.stdout == table.concat(args, " ") .. "\n", "an argument was interpreted: " .. r.stdout)
print(r.stdout)
