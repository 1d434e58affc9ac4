-- adversarial: many VUs hammer the protocol with random garbage for a while
-- exit: 0
-- Every reply is a well-formed error or ok reply; the kernel never stops
-- answering, and its goroutines come back to where they were.
options = {scenarios = {storm = {executor = "constant-vus", vus = 4, duration = "1s"}}}
local alphabet = '{}[]":,0123456789abcdefghijklmnopqrstuvwxyz \\ntrue false null'
function default()
  local n = math.random(1, 200)
  local parts = {}
  for i = 1, n do
    local k = math.random(1, #alphabet)
    parts[i] = alphabet:sub(k, k)
  end
  local text = table.concat(parts)
  local r = Kernel.request(text)
  assert(r.status == "error" or r.status == "ok", "no status for " .. text)
  if r.status == "error" then
    assert(type(r.error.type) == "string" and type(r.error.message) == "string", "malformed error reply")
  end
end
function teardown()
  local h = Kernel.health()
  assert(h.status == "ok", "kernel not healthy after the storm: " .. tostring(h.status))
  print("kernel healthy after the storm")
end
