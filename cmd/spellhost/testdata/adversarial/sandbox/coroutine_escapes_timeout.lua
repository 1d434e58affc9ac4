-- adversarial: coroutines made at the top level run forever when an iteration resumes them
-- exit: 0
-- stdout: iteration timeouts 2
options = {scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 2, timeout = "200ms", maxDuration = "20s"}}}
local function spin() while true do end end
local made_at_top = {coroutine.wrap(spin), coroutine.create(spin)}
function default()
  local co = made_at_top[Exec.scenario_iteration + 1]
  if type(co) == "function" then co() else coroutine.resume(co) end
end
