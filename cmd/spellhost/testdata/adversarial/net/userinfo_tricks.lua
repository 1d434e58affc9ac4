-- adversarial: hide a refused host behind user info that looks like the allowed one
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- The host of http://127.0.0.1:OK@evil.example/ is evil.example: it is
-- refused without a lookup.
local urls = {
  "http://127.0.0.1:{{OK_PORT}}@evil.example/",
  "http://127.0.0.1%3A{{OK_PORT}}@evil.example/",
  "http://user:127.0.0.1:{{OK_PORT}}@evil.example/",
  "http://127.0.0.1:{{OK_PORT}}@127.0.0.1:{{CANARY_PORT}}/",
  "http://evil.example?@127.0.0.1:{{OK_PORT}}/",
}
for _, u in ipairs(urls) do
  for _, tool in ipairs({"http_request", "webhook-caller", "web-scraper"}) do
    local params = {input = u}
    if tool == "webhook-caller" then params.max_retries = 0 end
    local r, err = Tool.try(tool, params)
    assert(r == nil, tool .. " fetched " .. u)
    assert(err.type == "permission_denied" or err.type == "validation_error", u .. ": " .. err.type .. ": " .. err.message)
  end
end
