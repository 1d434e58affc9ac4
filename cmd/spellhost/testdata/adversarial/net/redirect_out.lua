-- adversarial: make the allowed server redirect to the canary port, another loopback address or a name
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- Every redirect hop is judged like the first request, before it is
-- followed: a hop to a refused port or address is never connected to, and
-- a hop to a refused name is never looked up.
local base = "http://127.0.0.1:{{OK_PORT}}/redirect?code=307&to="
local targets = {
  "http://127.0.0.1:{{CANARY_PORT}}/",
  "http://localhost:{{CANARY_PORT}}/",
  "http://[::1]:{{CANARY_PORT}}/",
  "http://0.0.0.0:{{CANARY_PORT}}/",
  "http://6c65616b.exfil.example:{{OK_PORT}}/",
  "http://127.0.0.1:{{OK_PORT}}@evil.example/",
}
local function enc(s) return (s:gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end)) end
local tools = {
  {"http_request", function(u) return {input = u} end},
  {"api-tester", function(u) return {input = u} end},
  {"webhook-caller", function(u) return {input = u, payload = {x = 1}, max_retries = 0} end},
  {"graphql_query", function(u) return {endpoint = u, input = "{ x }"} end},
  {"web-scraper", function(u) return {input = u} end},
  {"webpage-monitor", function(u) return {input = u} end},
  {"sitemap-crawler", function(u) return {input = u} end},
  {"url-analyzer", function(u) return {input = u, fetch_metadata = true} end},
  {"service_checker", function(u) return {target = u, check_type = "http", follow_redirects = true} end},
}
-- The redirect endpoint itself is reachable.
local hop = Tool.invoke("http_request", {input = base .. enc("/"), follow_redirects = false})
assert(hop.status_code == 307, "the OK server did not redirect: " .. tostring(hop.status_code))
for _, t in ipairs(tools) do
  for _, to in ipairs(targets) do
    local r, err = Tool.try(t[1], t[2](base .. enc(to)))
    assert(r == nil, t[1] .. " followed a redirect to " .. to)
    assert(err.type == "permission_denied", t[1] .. " -> " .. to .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
  end
end
print("every redirect refused")
