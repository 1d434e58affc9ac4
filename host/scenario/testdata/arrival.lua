options = {
  scenarios = {
    steady = {executor = "constant-arrival-rate", rate = 50, timeUnit = "1s", duration = "1s", preAllocatedVUs = 2, maxVUs = 4},
    ramp = {executor = "ramping-arrival-rate", startRate = 10, timeUnit = "1s", preAllocatedVUs = 2,
            stages = {{duration = "500ms", target = 40}, {duration = "500ms", target = 40}}},
    vus = {executor = "ramping-vus", startVUs = 1, stages = {{duration = "500ms", target = 3}, {duration = "500ms", target = 0}}},
  },
}
function default() sleep(0.005) end
