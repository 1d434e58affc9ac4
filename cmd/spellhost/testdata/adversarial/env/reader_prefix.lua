-- adversarial: widen a prefix rule to reach a variable next to it
-- run: run --allow-env=SPELLHOST_ADV_OK* {{SCRIPT}}
-- exit: 0
local r = Tool.invoke("environment_reader", {operation = "list"})
for name in pairs(r.variables) do
  assert(name:sub(1, 15) == "SPELLHOST_ADV_OK", "list showed " .. name)
end
local p = Tool.invoke("environment_reader", {operation = "pattern", pattern = "SPELLHOST_ADV_*"})
assert(p.variables["{{SECRET_VAR}}"] == nil, "pattern showed the secret variable")
for _, name in ipairs({"{{SECRET_VAR}}", "SPELLHOST_ADV_O", "SPELLHOST_ADV_"}) do
  local g, err = Tool.try("environment_reader", {operation = "get", variable_name = name})
  assert(g == nil and err.type == "permission_denied", "get " .. name .. " was allowed")
end
print(JSON.encode(r), JSON.encode(p))
