-- adversarial: use service_checker as a port scanner of loopback beyond the one port allowed
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- An explicit list is exact: 127.0.0.1:OK allows that port, not the rest
-- of loopback. Every probe is refused before a connection is made, so the
-- scan learns nothing (a refusal says nothing about the port).
local ok = Tool.invoke("service_checker", {target = "127.0.0.1:{{OK_PORT}}", check_type = "tcp"})
assert(ok.available == true and ok.status == "open", "the allowed port is not open")

local ports = { {{CANARY_PORT}}, 22, 25, 80, 443, 3306, 5432, 6379, 8080, 9200 }
local hosts = {"127.0.0.1", "localhost", "127.0.0.2", "[::1]", "[::ffff:127.0.0.1]"}
local refused = 0
for _, host in ipairs(hosts) do
  for _, port in ipairs(ports) do
    for _, kind in ipairs({"tcp", "http"}) do
      local target = host .. ":" .. port
      if kind == "http" then target = "http://" .. target .. "/" end
      local r, err = Tool.try("service_checker", {target = target, check_type = kind, timeout_seconds = 2})
      assert(r == nil, "probe of " .. target .. " answered: status " .. tostring(r and r.status))
      assert(err.type == "permission_denied", target .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
      assert(err.message:find("--allow-net=", 1, true), target .. ": message does not name the flag: " .. err.message)
      refused = refused + 1
    end
  end
end
-- The allowed port itself on another loopback address is refused too.
local r, err = Tool.try("service_checker", {target = "127.0.0.2:{{OK_PORT}}", check_type = "tcp"})
assert(r == nil and err.type == "permission_denied", "127.0.0.2 on the allowed port was probed")
print("refused " .. refused .. " probes")
