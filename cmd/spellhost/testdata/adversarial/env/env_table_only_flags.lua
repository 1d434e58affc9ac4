-- adversarial: look for the process environment in the ENV table
-- run: run -e GIVEN=yes {{SCRIPT}}
-- exit: 0
-- ENV holds only what -e gave: not the secret variable, not PATH or HOME,
-- whatever the process's environment holds; env() still refuses them.
assert(ENV.GIVEN == "yes")
local n = 0
for k, v in pairs(ENV) do n = n + 1 end
assert(n == 1, "ENV holds " .. n .. " variables")
assert(ENV["{{SECRET_VAR}}"] == nil and ENV.PATH == nil and ENV.HOME == nil)
local ok, err = pcall(env, "{{SECRET_VAR}}")
assert(not ok and err.type == "permission_denied", tostring(err))
-- Changing ENV changes nothing outside this Lua state.
ENV["{{SECRET_VAR}}"] = "changed"
local ok2 = pcall(env, "{{SECRET_VAR}}")
assert(not ok2)
