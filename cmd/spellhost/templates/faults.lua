-- An error-injection test: measure a clean baseline, inject faults, and
-- check the kernel recovers. Thresholds decide pass (exit 0) or fail (99).
--
--   spellhost run THIS_FILE.lua
--   spellhost run --fault 'tool:calculator=10%error(unavailable)' THIS_FILE.lua
--
-- Fault terms: 50%delay(10ms), 2*error(timeout)->off, hang, panic, corrupt,
-- truncate(10), throttle(100), down;for=5s, slow_cancel(200ms), slow(30%), leak(1MB).

options = {
  scenarios = {
    baseline = {executor = "shared-iterations", vus = 2, iterations = 200, exec = "work"},
    faulty = {executor = "shared-iterations", vus = 2, iterations = 200, exec = "work", startAfter = "baseline",
              setup = "inject", teardown = "clear"},
    recovered = {executor = "shared-iterations", vus = 2, iterations = 200, exec = "work", startAfter = "faulty"},
  },
  thresholds = {
    ["checks{scenario:baseline}"] = {"rate==1"},
    ["checks{scenario:recovered}"] = {"rate==1"},
    -- injected failures are counted apart: outcome "injected"
    ["tool_calls{outcome:injected}"] = {"count>0"},
    ["recovery_ok"] = {"rate==1"},
  },
}

local recovery_ok = Metrics.rate("recovery_ok")

function work()
  local r, err = Tool.try("calculator", {input = "6 * 7"}, {timeout = "100ms"})
  check(r, {["answered right or failed on purpose"] = function(r)
    return (r ~= nil and r.result == 42) or (err ~= nil and (err.type == "injected" or err.type == "timeout"))
  end})
end

function inject()
  Fault.enable("tool:calculator", "30%error(unavailable)")
  Fault.enable("tool:*", "10%delay(2ms)")
end

function clear()
  for _, rule in ipairs(Fault.list()) do
    Logger.info("fault rule", {target = rule.target, rule = rule.rule, hits = rule.hits, calls = rule.calls})
  end
  Fault.reset()
  local h = Kernel.health()
  recovery_ok:add(h.fault_rules == 0 and h.abandoned == 0)
end
