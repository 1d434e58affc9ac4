-- adversarial: list every environment variable with environment_reader, with no --allow-env
-- exit: 0
local r = Tool.invoke("environment_reader", {operation = "list"})
assert(r.count == 0 and next(r.variables) == nil, "variables shown without --allow-env")
assert(r.hidden > 0, "the test process has variables, so some must be hidden")
for _, pat in ipairs({"*", "SPELLHOST_*", "?*", "[A-Z]*"}) do
  local p = Tool.invoke("environment_reader", {operation = "pattern", pattern = pat})
  assert(p.count == 0 and next(p.variables) == nil, "pattern " .. pat .. " showed variables")
end
local g, err = Tool.try("environment_reader", {operation = "get", variable_name = "{{SECRET_VAR}}"})
assert(g == nil and err.type == "permission_denied", "get of the secret variable")
print(JSON.encode(r))
