-- adversarial: read the host's environment through a child process
-- run: run --allow-run=env --allow-env=HOME {{SCRIPT}}
-- exit: 0
-- A child starts from PATH alone: it inherits neither the secret variable
-- nor HOME, though HOME is readable by the script.
local r = Tool.invoke("process_executor", {executable = "env"})
assert(r.stdout:match("^PATH=[^\n]*\n$"), "the child's environment is more than PATH: " .. r.stdout)
print(r.stdout)
-- Passing a variable needs --allow-env: HOME may be passed, the secret's
-- name may not.
local r2 = Tool.invoke("process_executor", {executable = "env", environment = {HOME = "/nowhere"}})
assert(r2.stdout:match("^PATH=[^\n]*\nHOME=/nowhere\n$"), "unexpected environment: " .. r2.stdout)
local r3, err = Tool.try("process_executor", {executable = "env", environment = {["{{SECRET_VAR}}"] = "x"}})
assert(r3 == nil and err.type == "permission_denied", "passed a variable --allow-env does not allow")
assert(err.message:find("--allow-env={{SECRET_VAR}}", 1, true), "message does not name the flag: " .. err.message)
