-- executor_ramping_vus.lua
-- Teaches: the ramping-vus executor. The number of looping VUs follows
-- stages: each stage moves linearly from the current count to its target
-- over its duration (startVUs is where the first stage starts). When the
-- count drops, a VU finishes its current iteration (up to
-- gracefulRampDown) before it stops. A counter tagged by VU shows which
-- VUs took part.
--
-- run: spellhost run examples/executor_ramping_vus.lua
-- expect exit: 0

local work = Metrics.counter("ramp_work")

options = {
  scenarios = {
    ramp = {
      executor = "ramping-vus",
      startVUs = 1,
      stages = {
        {duration = "300ms", target = 4},   -- ramp up from 1 to 4 VUs
        {duration = "200ms", target = 4},   -- hold 4
        {duration = "200ms", target = 0},   -- ramp down to 0
      },
      gracefulRampDown = "100ms",
    },
  },
  thresholds = {
    ["ramp_work{vu:4}"] = {"count>0"},    -- the ramp reached a 4th VU
    ["ramp_work{vu:5}"] = {"count==0"},   -- and never a 5th
    iteration_errors = {"count==0"},
  },
}

function default()
  work:add(1, {vu = tostring(Exec.vu)})
  Tool.invoke("hash_calculator", {operation = "hash", input = "vu " .. Exec.vu, algorithm = "sha256"})
  sleep("20ms")
end

function teardown()
  for vu = 1, 4 do
    print(("vu %d: %s"):format(vu, Metrics.stats("ramp_work{vu:" .. vu .. "}").count > 0 and "ran" or "never ran"))
  end
end
