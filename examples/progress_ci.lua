-- progress_ci.lua
-- Teaches: what a run prints in CI. When stderr is not a terminal, the
-- run prints its execution plan as the scenarios start (each scenario's
-- executor, VUs and time), then a progress line every --progress-interval
-- (10s by default) and one at the end, as plain lines a log keeps:
--   running (1s), 3/5 VUs, 52 complete and 0 interrupted iterations (51.9/s), 0 errors, p95 51.6ms; browse 66%, buy 79%
-- -q hides both. On a terminal a status line is redrawn instead.
--
-- run: spellhost run --progress-interval 500ms examples/progress_ci.lua
-- expect exit: 0

options = {
  scenarios = {
    browse = {executor = "constant-vus", vus = 2, duration = "1200ms"},
    buy = {executor = "constant-arrival-rate", rate = 20, timeUnit = "1s", duration = "1s",
           preAllocatedVUs = 1, maxVUs = 3, exec = "buy", startTime = "200ms"},
  },
}

function default() sleep("40ms") end

function buy()
  Tool.invoke("uuid_generator", {})
  sleep("20ms")
end
