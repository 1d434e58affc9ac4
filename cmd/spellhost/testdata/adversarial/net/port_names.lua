-- adversarial: give ports by service name, which a resolver would look up
-- run: run --allow-net=127.0.0.1:80 {{SCRIPT}}
-- exit: 0
-- Ports are numbers: a service name is refused, never looked up.
for _, t in ipairs({"127.0.0.1:http", "localhost:www", "127.0.0.1:{{CANARY_PORT}}x"}) do
  local r, err = Tool.try("service_checker", {target = t, check_type = "tcp"})
  assert(r == nil, t .. " was probed")
  assert(err.type == "validation_error", t .. ": want validation_error, got " .. err.type .. ": " .. err.message)
end
for _, u in ipairs({"http://127.0.0.1:http/", "http://localhost:https/"}) do
  local r, err = Tool.try("http_request", {input = u})
  assert(r == nil and err.type == "validation_error", u .. " was not refused as invalid")
end
