-- adversarial: reach local listeners through the unspecified address 0.0.0.0 or [::]
-- exit: 0
-- Connecting to 0.0.0.0 reaches the machine's own listeners, but it is not
-- a loopback address: the default permission (loopback only) refuses it.
for _, host in ipairs({"0.0.0.0", "[::]", "[::ffff:0.0.0.0]", "0.0.0.0."}) do
  for _, tool in ipairs({"http_request", "web-scraper"}) do
    local r, err = Tool.try(tool, {input = "http://" .. host .. ":{{CANARY_PORT}}/"})
    assert(r == nil, tool .. " reached " .. host)
    assert(err.type == "permission_denied" or err.type == "validation_error", host .. ": " .. err.type .. ": " .. err.message)
  end
  local r, err = Tool.try("service_checker", {target = host .. ":{{CANARY_PORT}}", check_type = "tcp"})
  assert(r == nil, "service_checker probed " .. host)
end
