-- A stress scenario: several VUs call tools for a while; thresholds
-- decide pass (exit 0) or fail (exit 99).
--
--   spellhost run THIS_FILE.lua
--   spellhost run --vus 20 --duration 30s THIS_FILE.lua   (overrides the scenario)
--
-- Lua API reference: docs/lua-api.md; options: `spellhost inspect THIS_FILE.lua`.

options = {
  scenarios = {
    calculator = {
      executor = "constant-vus",   -- also: shared-iterations, per-vu-iterations, ramping-vus,
                                   -- constant-arrival-rate, ramping-arrival-rate
      vus = 4,
      duration = "2s",
      timeout = "500ms",           -- an iteration that overruns is stopped and counted
    },
  },
  thresholds = {
    ["iteration_duration"] = {"p(95)<50"},             -- milliseconds
    ["checks"] = {"rate>0.99"},
    ["tool_duration{tool:calculator}"] = {"p(99)<10"},  -- a sub-metric: one tool
  },
}

-- Runs once, before the VUs start; what it returns reaches every iteration.
function setup()
  return {expression = "(2 + 3) * 4", expected = 20}
end

-- One iteration. Tool.invoke raises on failure; Tool.try returns result, err.
function default(data)
  local r, err = Tool.try("calculator", {input = data.expression})
  check(r, {
    ["the calculator answered"] = function(r) return err == nil end,
    ["the result is right"] = function(r) return r ~= nil and r.result == data.expected end,
  })
end
