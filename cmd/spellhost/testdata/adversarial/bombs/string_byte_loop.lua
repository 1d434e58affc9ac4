-- adversarial: string.byte at the cap in a loop, under an iteration timeout
-- exit: 0
-- stdout: iteration timeouts 1
options = {scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 1, timeout = "300ms"}}}
local s = string.rep("y", 65536)
function default()
  while true do local t = {string.byte(s, 1, -1)} end
end
