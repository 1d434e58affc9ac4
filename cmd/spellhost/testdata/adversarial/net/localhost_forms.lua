-- adversarial: reach other loopback ports through spellings of localhost, and make localhost leak to DNS
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- localhost stands for 127.0.0.1 and ::1 without a lookup: with the trailing
-- dot or in capitals it reaches the allowed port, never another one, and
-- names that merely contain localhost are refused without a lookup.
for _, h in ipairs({"localhost", "localhost.", "LOCALHOST", "LocalHost."}) do
  local r, err = Tool.try("http_request", {input = "http://" .. h .. ":{{OK_PORT}}/"})
  assert(r and r.status_code == 200, h .. " on the allowed port refused: " .. tostring(err and err.message))
  r, err = Tool.try("http_request", {input = "http://" .. h .. ":{{CANARY_PORT}}/"})
  assert(r == nil and err.type == "permission_denied", h .. " reached the canary port")
end
for _, h in ipairs({"localhost.evil.example", "evil.localhost", "localhost..", "xn--localhost"}) do
  local r, err = Tool.try("http_request", {input = "http://" .. h .. ":{{OK_PORT}}/"})
  assert(r == nil, h .. " was fetched")
  assert(err.type == "permission_denied" or err.type == "validation_error", h .. ": " .. err.type .. ": " .. err.message)
end
