-- handle_summary.lua
-- Teaches: handleSummary(data), as in k6. When the script defines it,
-- spellhost calls it at the end with the summary in k6's shape
-- (data.metrics[name] = {type, contains, values, thresholds},
-- data.root_group with the checks, data.state, data.options) and writes
-- what it returns instead of the default summary: "stdout", "stderr", or
-- a file name, each to its text. Files go through the write permission:
-- this run allows /tmp.
--
-- run: spellhost run --allow-write=/tmp examples/handle_summary.lua
-- expect exit: 0

options = {
  scenarios = {calc = {executor = "shared-iterations", vus = 2, iterations = 20}},
  thresholds = {iteration_duration = {"p(95)<500"}, checks = {"rate==1"}},
}

function default()
  local r = Tool.invoke("calculator", {input = "6 * 7"})
  check(r, {["is 42"] = function(v) return v.result == 42 end})
end

function handleSummary(data)
  local d = data.metrics.iteration_duration
  local lines = {("%d iterations, p95 %.2fms, %s"):format(
    data.metrics.iterations.values.count, d.values["p(95)"],
    d.thresholds["p(95)<500"].ok and "threshold met" or "threshold FAILED")}
  for _, c in ipairs(data.root_group.checks) do
    lines[#lines + 1] = ("check %q: %d passed, %d failed"):format(c.name, c.passes, c.fails)
  end
  return {
    stdout = table.concat(lines, "\n") .. "\n",
    ["/tmp/spellhost-handle-summary.json"] = JSON.encode(data),
  }
end
