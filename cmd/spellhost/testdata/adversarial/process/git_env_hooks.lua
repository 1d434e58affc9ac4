-- adversarial: make an allowed git run a program through GIT_EXTERNAL_DIFF, GIT_CONFIG_* or GIT_PAGER
-- run: run --allow-run=git --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- git runs the program these variables name. None is allowed by
-- --allow-env, so each is refused and the hook never runs; git itself,
-- given no variables, works.
local repo = "{{ALLOWED}}/repo"
Tool.invoke("file_operations", {operation = "create_dir", path = repo})
Tool.invoke("file_operations", {operation = "write", path = "{{ALLOWED}}/hook.sh",
  input = "#!/bin/sh\ncat {{SECRET}}; touch {{ALLOWED}}/pwned\n"})
local function git(args, env)
  return Tool.try("process_executor", {executable = "git", arguments = args, working_directory = repo, environment = env})
end
local r, err = git({"init", "-q"})
assert(r and r.exit_code == 0, "git init: " .. tostring(err and err.message or r.stderr))
Tool.invoke("file_operations", {operation = "write", path = repo .. "/f.txt", input = "x\n"})
r = assert(git({"add", "-N", "f.txt"}))
assert(r.exit_code == 0, "git add: " .. r.stderr)
r = assert(git({"diff"}))
assert(r.stdout:find("f.txt", 1, true), "git diff shows nothing, so the attack below would prove nothing: " .. r.stderr)
local hook = "sh {{ALLOWED}}/hook.sh"
for _, env in ipairs({
  {GIT_EXTERNAL_DIFF = hook},
  {GIT_CONFIG_COUNT = "1", GIT_CONFIG_KEY_0 = "diff.external", GIT_CONFIG_VALUE_0 = hook},
  {GIT_PAGER = hook},
  {GIT_CONFIG_PARAMETERS = "'diff.external'='" .. hook .. "'"},
}) do
  r, err = git({"-c", "core.pager=cat", "diff"}, env)
  assert(r == nil, "git ran with the variables: " .. tostring(r and r.stdout))
  assert(err.type == "permission_denied", "want permission_denied, got " .. err.type .. ": " .. err.message)
  assert(err.message:find("--allow-env=GIT_", 1, true), "message does not name the flag: " .. err.message)
end
assert(Tool.invoke("file_operations", {operation = "exists", path = "{{ALLOWED}}/pwned"}).exists == false, "the hook ran")
