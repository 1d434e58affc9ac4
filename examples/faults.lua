-- faults.lua
-- Teaches: fault injection and recovery checks. Fault.with(target, terms,
-- fn) enables a rule only while fn runs, then puts back what was there;
-- Fault.enable/disable keep one for a whole scenario. Injected failures
-- have err.type "injected" (err.injected says what they stand for) and
-- are counted apart from real ones. Kernel.health() then shows whether
-- the kernel recovered: nothing running, nothing abandoned, no rules left.
-- Probabilities ("30%...") draw from the run's seed (--seed, default 1).
--
-- run: spellhost run examples/faults.lua
-- expect exit: 0

options = {
  scenarios = {
    -- 2 VUs call a calculator that fails 30% of the time, and retry
    flaky = {executor = "shared-iterations", vus = 2, iterations = 40, exec = "flaky",
             setup = "flaky_setup", teardown = "flaky_teardown"},
    -- then, with every rule gone, nothing fails any more
    recovery = {executor = "shared-iterations", vus = 2, iterations = 40, exec = "clean", startAfter = "flaky"},
  },
  thresholds = {
    ["checks{scenario:flaky}"] = {"rate==1"},                 -- the retries always got through
    ["tool_calls{tool:calculator,outcome:injected}"] = {"count>0"},
    ["tool_calls{scenario:recovery,outcome:injected}"] = {"count==0"},
    iteration_errors = {"count==0"},
    recovered = {"rate==1"},
  },
}

local recovered = Metrics.rate("recovered")

-- settle waits for the kernel to be idle: a tool call that was answered
-- "timeout" takes a moment to notice its context ended. The 10 s deadline
-- only catches a hang; a busy machine just makes the wait longer.
local function settle()
  local t0 = now()
  while now() - t0 < 10 do
    local h = Kernel.health()
    if h.running == 0 and h.abandoned == 0 then return h end
    sleep("5ms")
  end
  return Kernel.health()
end

function setup()
  -- Fault.with: a rule only for the length of a function.
  local _, err = Fault.with("tool:calculator", "error(unavailable)", function()
    return Tool.try("calculator", {input = "1+1"})
  end)
  print("error:", err.type, "standing for", err.injected)

  local t0 = now()
  local r = Fault.with("tool:calculator", "delay(30ms)", function()
    return Tool.invoke("calculator", {input = "2*3"})
  end)
  print(("delay: result %d, slowed by 30 ms: %s"):format(r.result, tostring(now() - t0 >= 0.03)))

  -- A hung tool is answered "timeout" on time...
  _, err = Fault.with("tool:calculator", "hang", function()
    return Tool.try("calculator", {input = "1"}, {timeout = "50ms"})
  end)
  print("hang:", err.type)
  -- ...and once it is gone the kernel is idle again.
  local h = settle()
  recovered:add(h.running == 0 and h.abandoned == 0, {after = "hang"})
  print(("health after the hang: %s, running %d, abandoned %d"):format(h.status, h.running, h.abandoned))

  -- A chain: fail twice, then stop failing ("->off"). A glob target
  -- ("calc*") matches several tools.
  local outcomes = Fault.with("tool:calc*", "2*error(flaky)->off", function()
    local seen = {}
    for k = 1, 3 do
      local _, e = Tool.try("calculator", {input = "1"})
      seen[k] = e and e.type or "ok"
    end
    return table.concat(seen, ", ")
  end)
  print("chain:", outcomes)
  assert(#Fault.list() == 0, "Fault.with left nothing behind")
end

function flaky_setup()
  Fault.enable("tool:calculator", "30%error(unavailable)")
end

-- Retries until the call gets through (10 tries at 30% failure each:
-- all ten fail once in about 170,000 iterations).
function flaky()
  local i = Exec.scenario_iteration
  local r, err
  for _ = 1, 10 do
    r, err = Tool.try("calculator", {input = i .. " + 1"})
    if not err then break end
    assert(err.type == "injected", "only injected failures are expected here")
  end
  check(r, {["got through with retries"] = function(v) return v ~= nil and v.result == i + 1 end})
end

function flaky_teardown()
  local rule = Fault.list()[1]
  print(("rule %s fired %d times in %d calls"):format(rule.rule, rule.hits, rule.calls))
  Fault.disable("tool:calculator")
end

function clean()
  Tool.invoke("calculator", {input = "2+2"})   -- raises if anything were still injected
end

function teardown()
  local h = settle()
  recovered:add(h.status == "ok" and h.fault_rules == 0 and h.running == 0, {after = "run"})
  print(("final health: %s, %d fault rules, %d calls, %d panics"):format(h.status, h.fault_rules, h.calls, h.panics))
end
