-- executor_constant_arrival_rate.lua
-- Teaches: the constant-arrival-rate executor (an open model). Iterations
-- start at a fixed rate (rate per timeUnit) whether or not earlier ones
-- have finished; preAllocatedVUs are ready at the start and up to maxVUs
-- are added when all are busy. An iteration that finds no free VU is
-- dropped and counted in dropped_iterations. Latency is measured from the
-- scheduled start (no coordinated omission); iteration_service_duration
-- is the time the work itself took.
--
-- run: spellhost run examples/executor_constant_arrival_rate.lua
-- expect exit: 0

options = {
  scenarios = {
    open = {
      executor = "constant-arrival-rate",
      rate = 100, timeUnit = "1s",   -- 100 iterations per second...
      duration = "600ms",            -- ...for 0.6 s: about 60 iterations
      preAllocatedVUs = 2,
      maxVUs = 8,                    -- room to grow if the work slows down
    },
  },
  thresholds = {
    iterations = {"count>40"},            -- about 60; loose, since timers vary
    dropped_iterations = {"count<10"},    -- the VUs kept up
    iteration_duration = {"p(95)<250ms"}, -- from the scheduled start
    iteration_errors = {"count==0"},
  },
}

function default()
  Tool.invoke("base64_encoder", {operation = "encode", input = "iteration " .. Exec.scenario_iteration})
  sleep("15ms")   -- each iteration takes 15ms, so 2 VUs at 100/s are enough
end

function teardown()
  local lat = Metrics.stats("iteration_duration")
  local svc = Metrics.stats("iteration_service_duration")
  print(("latency med %.1fms (from the schedule), service med %.1fms (the work)"):format(lat.med, svc.med))
end
