-- adversarial: read a file outside every allowed folder by its absolute path
-- run: run --allow-read={{ALLOWED}} {{SCRIPT}}
-- exit: 0
local r, err = Tool.try("file_operations", {operation = "read", path = "{{SECRET}}"})
assert(r == nil, "read outside the allowed folders succeeded")
assert(err.type == "permission_denied", "want permission_denied, got " .. tostring(err.type))
print(r and r.content or "refused")
