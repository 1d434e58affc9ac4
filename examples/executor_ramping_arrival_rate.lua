-- executor_ramping_arrival_rate.lua
-- Teaches: the ramping-arrival-rate executor. Like constant-arrival-rate,
-- iterations start on a schedule regardless of how long they take, but
-- the rate follows stages: from startRate, each stage moves linearly to
-- its target rate (per timeUnit) over its duration. Here the rate climbs
-- from 0 to 200/s, holds, then falls back to 0; a counter tagged by phase
-- shows more iterations where the rate is high.
--
-- run: spellhost run examples/executor_ramping_arrival_rate.lua
-- expect exit: 0

local phase_work = Metrics.counter("phase_work")

options = {
  scenarios = {
    wave = {
      executor = "ramping-arrival-rate",
      startRate = 0, timeUnit = "1s",
      stages = {
        {duration = "300ms", target = 200},  -- 0 -> 200/s: about 30 iterations
        {duration = "300ms", target = 200},  -- hold 200/s: about 60
        {duration = "300ms", target = 0},    -- 200/s -> 0: about 30
      },
      preAllocatedVUs = 2,
      maxVUs = 10,
    },
  },
  thresholds = {
    iterations = {"count>60"},           -- about 120 in all
    ["phase_work{phase:hold}"] = {"count>30"},
    dropped_iterations = {"count<20"},
    iteration_errors = {"count==0"},
  },
}

function default()
  local t = now()   -- seconds since the run began, the same clock in every VU
  local phase = t < 0.3 and "up" or t < 0.6 and "hold" or "down"
  phase_work:add(1, {phase = phase})
  Tool.invoke("calculator", {input = "sqrt(" .. Exec.scenario_iteration .. ")"})
  sleep("5ms")
end

function teardown()
  for _, p in ipairs({"up", "hold", "down"}) do
    print(("%-4s %3d iterations"):format(p, Metrics.stats("phase_work{phase:" .. p .. "}").count))
  end
end
