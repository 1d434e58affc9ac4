options = {
  scenarios = {s = {executor = "constant-vus", vus = 1, duration = "30s"}},
  thresholds = {iteration_errors = {{threshold = "count<3", abortOnFail = true}}},
}
function default() sleep(0.01) error("always") end
