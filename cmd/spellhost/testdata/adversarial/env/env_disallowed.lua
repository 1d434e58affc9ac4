-- adversarial: read environment variables --allow-env does not list, by name and by near-miss names
-- run: run --allow-env=SPELLHOST_ADV_OK,APP_* {{SCRIPT}}
-- exit: 0
for _, name in ipairs({"{{SECRET_VAR}}", "PATH", "HOME", "APP", "SPELLHOST_ADV_*", "SPELLHOST_ADV_OKX", "spellhost_adv_secret"}) do
  local ok, err = pcall(env, name)
  assert(not ok, "env(" .. name .. ") was read: " .. tostring(err))
  assert(err.type == "permission_denied", name .. ": want permission_denied, got " .. tostring(err.type))
  assert(err.message:find("--allow-env=" .. name, 1, true), "message does not name the flag: " .. err.message)
end
assert(env("SPELLHOST_ADV_OK") == nil, "an allowed, unset variable has a value")
assert(env("APP_X") == nil, "an allowed, unset variable has a value")
