-- adversarial: reach another loopback port through IPv6 loopback and IPv4-mapped IPv6 forms
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- [::1] is not 127.0.0.1: not listed, so refused. [::ffff:127.0.0.1] is
-- 127.0.0.1 written as IPv6: allowed on the allowed port, refused on any
-- other.
local function get(u) return Tool.try("http_request", {input = u}) end
local r, err = get("http://[::ffff:127.0.0.1]:{{OK_PORT}}/")
assert(r and r.status_code == 200, "mapped form of the allowed address refused: " .. tostring(err and err.message))
for _, u in ipairs({
  "http://[::1]:{{OK_PORT}}/",
  "http://[::1]:{{CANARY_PORT}}/",
  "http://[::ffff:127.0.0.1]:{{CANARY_PORT}}/",
  "http://[0:0:0:0:0:ffff:7f00:1]:{{CANARY_PORT}}/",
  "http://[::ffff:7f00:2]:{{OK_PORT}}/",
  "http://[::127.0.0.1]:{{OK_PORT}}/",
}) do
  r, err = get(u)
  assert(r == nil, u .. " was fetched")
  assert(err.type == "permission_denied", u .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
end
