-- adversarial: many series under a lowered --max-series, from several VUs at once
-- run: run --max-series=10 --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- exit: 0
-- stdout: new series over 10 per metric
-- file: {{ALLOWED}}/s.json has "max_series_per_metric": 10
options = {scenarios = {s = {executor = "shared-iterations", vus = 4, iterations = 400}}}
function default()
  Metrics.trend("latency_by_user"):add(Exec.scenario_iteration, {user = "u" .. Exec.scenario_iteration})
end
function teardown()
  local st = Metrics.stats("latency_by_user")
  assert(st.count == 10, "count " .. st.count)
end
