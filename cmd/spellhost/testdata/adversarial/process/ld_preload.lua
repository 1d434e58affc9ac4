-- adversarial: load code into an allowed program through the dynamic loader's variables
-- run: run --allow-run=env,true --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
for _, name in ipairs({"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "GCONV_PATH"}) do
  for _, prog in ipairs({"env", "true"}) do
    local r, err = Tool.try("process_executor", {executable = prog, environment = {[name] = "{{ALLOWED}}/evil.so"}})
    assert(r == nil, prog .. " ran with " .. name)
    assert(err.type == "permission_denied", name .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
    assert(err.message:find("--allow-env=" .. name, 1, true), "message does not name the flag: " .. err.message)
  end
end
