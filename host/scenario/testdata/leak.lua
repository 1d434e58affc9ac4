-- An injected leak is caught by Metrics.memory; once released, the run's
-- own verdict sees no leak.
options = {
  memory = {interval = "5ms", warn = "4MB", fail = "8MB"},
  scenarios = {
    leaky = {executor = "shared-iterations", vus = 1, iterations = 40, exec = "leaky",
             setup = "leak_setup", teardown = "leak_teardown"},
    after = {executor = "shared-iterations", vus = 1, iterations = 40, exec = "quiet", startAfter = "leaky"},
  },
  thresholds = {checks = {"rate==1"}},
}

function leak_setup()
  Fault.enable("tool:calculator", "leak(512KB)")
  return {t0 = now()}
end

function leaky()
  Tool.invoke("calculator", {input = "1+1"})
  sleep(0.003)
end

function leak_teardown(_, data)
  local v = Metrics.memory(data.t0)
  print("verdict", v.verdict, v.heap_growth > 8e6)
  check(v, {["the verdict catches the leak"] = function(v) return v.verdict == "leak" end})
  Fault.reset()
end

function quiet()
  Tool.invoke("calculator", {input = "1+1"})
  sleep(0.003)
end
