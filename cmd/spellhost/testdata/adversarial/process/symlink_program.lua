-- adversarial: run another program through a link named like the allowed one
-- run: run --allow-run=echo {{SCRIPT}}
-- exit: 0
-- ./echo beside this script is a link to cat. --allow-run matches the
-- name as given or the file it resolves to, and ./echo is neither "echo"
-- nor the real echo's file.
local r, err = Tool.try("process_executor", {executable = "./echo", arguments = {"{{SECRET}}"}})
assert(r == nil, "the link ran: " .. tostring(r and r.stdout))
assert(err.type == "permission_denied", "want permission_denied, got " .. err.type .. ": " .. err.message)
assert(err.message:find("--allow-run=./echo", 1, true), "message does not name the flag: " .. err.message)
