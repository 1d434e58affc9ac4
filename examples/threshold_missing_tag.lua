-- threshold_missing_tag.lua
-- Teaches: no silent passes. A threshold on a trend, rate or gauge series
-- that received no value fails, and the summary names the series and the
-- tag keys its metric's values do carry, so a misspelt tag ("teem" for
-- "team") cannot turn a threshold into a pass. A counter with no value is
-- a measured zero, compared as such, and the unknown key is flagged. This
-- example exits 99 on purpose: look for
--   ✗ checks{teem:payments}: rate>0.99  (no data)
--       checks{teem:payments} received no value: no value of checks carried the tag key teem; its values carry check, scenario, team
--
-- run: spellhost run examples/threshold_missing_tag.lua
-- expect exit: 99

options = {
  scenarios = {
    checkout = {executor = "shared-iterations", vus = 1, iterations = 5, tags = {team = "payments"}},
  },
  thresholds = {
    ["checks{team:payments}"] = {"rate>0.99"},   -- right: passes
    ["checks{teem:payments}"] = {"rate>0.99"},   -- misspelt: fails for lack of data
    ["iterations{teem:payments}"] = {"count<100"}, -- a counter: 0 < 100 passes, with a warning
  },
}

function default()
  check(Tool.invoke("calculator", {input = "2 + 2"}), {["is four"] = function(r) return r.result == 4 end})
end
