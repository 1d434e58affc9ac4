-- threshold_failure.lua
-- Teaches: what a failing threshold looks like. The run itself goes fine,
-- but one check fails on purpose in 2 iterations of 20, so the threshold
-- checks "rate>0.99" fails: the summary marks it with a cross and
-- spellhost exits 99 (thresholds failed). This example is MEANT to exit
-- 99; CI treats 99 as a failed run.
--
-- run: spellhost run examples/threshold_failure.lua
-- expect exit: 99

options = {
  scenarios = {
    s = {executor = "shared-iterations", vus = 1, iterations = 20},
  },
  thresholds = {
    checks = {"rate>0.99"},          -- fails: 38 of the 40 checks pass (0.95)
    iterations = {"count==20"},      -- passes
  },
}

function default()
  local i = Exec.scenario_iteration
  local r = Tool.invoke("calculator", {input = i .. " * 3"})
  check(r, {
    -- fails on purpose when i is 0 or 10
    ["not a multiple of 10"] = function() return i % 10 ~= 0 end,
    ["times three"] = function(v) return v.result == i * 3 end,
  })
end
