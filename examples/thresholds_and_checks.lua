-- thresholds_and_checks.lua
-- Teaches: check() and options.thresholds. check(value, {name = fn}) runs
-- each named predicate and records pass or fail in the checks rate metric
-- (tagged check=NAME); it returns true when all passed and never stops
-- the iteration. Thresholds are k6 expressions on a metric or sub-metric
-- ({tag:value}) that decide the exit code: all pass -> 0, any fails -> 99
-- (threshold_failure.lua shows that). abortOnFail stops the run as soon
-- as its threshold fails (exit 108).
--
-- run: spellhost run examples/thresholds_and_checks.lua
-- expect exit: 0

options = {
  scenarios = {
    calc = {executor = "shared-iterations", vus = 2, iterations = 50},
  },
  thresholds = {
    -- a string, or a list of strings, per metric
    checks = "rate==1",
    ["checks{check:sum is right}"] = {"rate==1", "count==50"},
    iteration_duration = {"p(95)<100ms", "max<1s"},
    tool_duration = {"p(99)<50"},                         -- milliseconds when no unit is given
    ["tool_calls{tool:calculator,outcome:ok}"] = {"count==50"},
    ["tool_calls{outcome:execution_error}"] = {"count==50"},
    -- a guard that would stop the run at once if it ever failed
    iteration_errors = {{threshold = "count==0", abortOnFail = true}},
  },
}

function default()
  local i = Exec.scenario_iteration
  local r = Tool.invoke("calculator", {input = i .. " + " .. i})
  local ok = check(r, {
    ["sum is right"] = function(v) return v.result == 2 * i end,
    ["result is a number"] = function(v) return type(v.result) == "number" end,
  })
  if not ok then Logger.warn("a check failed", {i = i}) end

  -- A check on an expected failure: a failed tool call is fine here,
  -- as long as it fails the right way.
  local _, err = Tool.try("calculator", {input = "1/0"})
  check(err, {["1/0 is an execution_error"] = function(e) return e and e.type == "execution_error" end})
end
