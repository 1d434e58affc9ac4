-- adversarial: a run that times out with tasks queued and running; the summary's accounting still adds up
-- run: run --timeout=2s {{SCRIPT}}
-- exit: 102
-- stdout: cancelled ............ 12
-- stdout: still live ........... 0 queued, 0 running, 0 retrying
-- stdout: balanced: every task in exactly one state
options = {tasks = {workers = 3}, scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 1}}}
function default()
  for i = 1, 12 do Task.submit{fn = function() while true do end end, retries = 3} end
  sleep(3600)
end
