-- executor_shared_iterations.lua
-- Teaches: the shared-iterations executor. A fixed total of iterations is
-- shared by a pool of VUs: each VU takes the next one as soon as it is
-- free, so fast VUs do more. The scenario ends when all are done (or at
-- maxDuration). Exec.vu and Exec.scenario_iteration say who ran what.
--
-- run: spellhost run examples/executor_shared_iterations.lua
-- expect exit: 0

options = {
  scenarios = {
    calc = {
      executor = "shared-iterations",
      vus = 4,               -- VUs sharing the work
      iterations = 40,       -- in total, not per VU
      maxDuration = "10s",   -- stop even if not all are done
      exec = "calc",         -- the global function each iteration runs (default: default)
    },
  },
  thresholds = {
    -- exactly 40 iterations ran, none failed
    ["iterations{scenario:calc}"] = {"count==40"},
    iteration_errors = {"count==0"},
  },
}

function calc()
  local i = Exec.scenario_iteration      -- 0..39 across the whole scenario
  local r = Tool.invoke("calculator", {input = i .. " * 2"})
  assert(r.result == i * 2)
end

function teardown()
  print("iterations run:", Metrics.stats("iterations{scenario:calc}").count)
end
