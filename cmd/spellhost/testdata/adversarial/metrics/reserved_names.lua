-- adversarial: write to the built-in metrics (iterations, checks, vus, tool_calls...) to fake a run's figures
-- run: run --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- exit: 0
-- file: {{ALLOWED}}/s.json has "iterations": 4
options = {
  scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 4}},
  thresholds = {iterations = {"count==4"}, checks = {"rate==1"}, tool_calls = {"count==4"}},
}
local reserved = {"iterations", "iteration_duration", "iteration_errors", "checks", "vus", "vus_max",
  "tool_calls", "tool_duration", "memory_rss", "memory_growth", "goroutines", "task_outcomes", "injected_faults"}
function default()
  for _, name in ipairs(reserved) do
    for _, ctor in ipairs({Metrics.counter, Metrics.gauge, Metrics.rate, Metrics.trend}) do
      local ok, err = pcall(ctor, name)
      assert(not ok and err.type == "validation_error", name .. ": " .. tostring(err))
      assert(err.message:find('"' .. name .. '"', 1, true) and err.message:find("built-in", 1, true), err.message)
    end
  end
  -- A metric object cannot be turned into a built-in one either.
  local mine = Metrics.counter("mine")
  assert(not pcall(function() mine.name = "iterations" end))
  assert(not pcall(rawset, mine, "name", "iterations"))
  assert(not pcall(setmetatable, mine, {}))
  assert(getmetatable(mine) == "metric")
  mine:add(-1e6)
  Tool.invoke("calculator", {input = "1+1"})
  check(1, {one = function(v) return v == 1 end})
  assert(Metrics.stats("iterations") ~= nil) -- reading is allowed
end
