-- adversarial: write 127.0.0.1 as a number (decimal, octal, hex, short forms) to slip past an exact list
-- run: run --allow-net=127.0.0.1:{{OK_PORT}} {{SCRIPT}}
-- exit: 0
-- Some resolvers read these as 127.0.0.1; spellhost refuses them as
-- ambiguous before anything is looked up or dialled.
local forms = {"2130706433", "0x7f.0.0.1", "0x7f000001", "127.1", "127.0.1", "0177.0.0.1", "017700000001", "127.0.0.1.", "0x7f.1"}
for _, host in ipairs(forms) do
  for _, port in ipairs({"{{OK_PORT}}", "{{CANARY_PORT}}"}) do
    local r, err = Tool.try("http_request", {input = "http://" .. host .. ":" .. port .. "/"})
    assert(r == nil, host .. ":" .. port .. " was fetched")
    assert(err.type == "validation_error" or err.type == "permission_denied",
      host .. ": want a refusal, got " .. err.type .. ": " .. err.message)
    r, err = Tool.try("service_checker", {target = host .. ":" .. port, check_type = "tcp"})
    assert(r == nil, "service_checker probed " .. host)
  end
end
print("refused " .. #forms .. " forms")
