-- adversarial: end the run with tasks still queued and running; every one must end in exactly one state
-- exit: 0
-- stdout: submitted ............ 21
-- stdout: succeeded ............ 1
-- stdout: cancelled ............ 20
-- stdout: still live ........... 0 queued, 0 running, 0 retrying
-- stdout: balanced: every task in exactly one state
options = {tasks = {workers = 2}, scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 1}}}
function default()
  assert(Task.wait(Task.submit{tool = "calculator", params = {input = "1+1"}}, 10).state == "succeeded")
  for i = 1, 10 do Task.submit{fn = function() while true do end end} end
  for i = 1, 10 do Task.submit{fn = function() sleep(3600) end} end
  while Task.stats().running < 2 do sleep(0.005) end
  local s = Task.stats()
  print(string.format("at the end of the iteration: %d queued, %d running", s.queued, s.running))
  assert(s.submitted == 21 and s.balanced)
end
