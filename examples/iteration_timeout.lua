-- iteration_timeout.lua
-- Teaches: the per-iteration timeout, a spellhost addition to k6's
-- scenario fields. With timeout = "100ms", an iteration that runs longer
-- is stopped (a sleep, a slow tool call, even a busy loop of pure Lua),
-- counted in iteration_timeouts (not iteration_errors), and the VU goes
-- on with its next iteration. A threshold on iteration_timeouts turns
-- runaway iterations into a pass/fail criterion.
--
-- run: spellhost run examples/iteration_timeout.lua
-- expect exit: 0

options = {
  scenarios = {
    guarded = {
      executor = "per-vu-iterations", vus = 1, iterations = 10,
      timeout = "100ms",     -- per iteration
    },
  },
  thresholds = {
    -- exactly the two runaway iterations below were stopped
    iteration_timeouts = {"count==2"},
    iteration_errors = {"count==0"},
    ["iterations{scenario:guarded}"] = {"count==10"},
  },
}

function default()
  local i = Exec.iteration
  if i == 3 then
    sleep(30)                      -- would take 30 s: stopped at 100 ms
  elseif i == 6 then
    local n = 0
    while true do n = n + 1 end    -- a runaway loop: stopped as well
  end
  Tool.invoke("calculator", {input = i .. " + 1"})
end

function teardown()
  print("timed out:", Metrics.stats("iteration_timeouts").count,
    "completed:", Metrics.stats("iterations").count - Metrics.stats("iteration_timeouts").count)
end
