-- adversarial: an explicit empty --allow-net list still reaching loopback
-- run: run --allow-net= {{SCRIPT}}
-- exit: 0
-- A list, even empty, is exact: it allows nothing, loopback included.
for _, u in ipairs({"http://127.0.0.1:{{OK_PORT}}/", "http://localhost:{{OK_PORT}}/", "http://[::1]:{{OK_PORT}}/"}) do
  local r, err = Tool.try("http_request", {input = u})
  assert(r == nil, u .. " was fetched under an empty list")
  assert(err.type == "permission_denied", u .. ": " .. err.type .. ": " .. err.message)
end
