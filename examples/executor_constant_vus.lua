-- executor_constant_vus.lua
-- Teaches: the constant-vus executor. A fixed number of VUs loop over the
-- function for a fixed duration; the iteration count is whatever fits.
-- Top-level locals are per VU (each VU runs the script in its own Lua
-- state), so a VU can keep state across its iterations. The thresholds
-- judge counts loosely and percentiles, since the count depends on speed.
--
-- run: spellhost run examples/executor_constant_vus.lua
-- expect exit: 0

options = {
  scenarios = {
    steady = {
      executor = "constant-vus",
      vus = 3,
      duration = "500ms",
      gracefulStop = "1s",   -- iterations still running at the end get this long to finish
    },
  },
  thresholds = {
    iterations = {"count>10"},                    -- 3 VUs * ~50 iterations each, loosely
    iteration_duration = {"p(95)<500ms"},         -- generous: a busy machine must not fail it
    checks = {"rate==1"},
    iteration_errors = {"count==0"},
  },
}

-- One per VU: each VU's Lua state runs this top level once.
local mine = 0

function default()
  mine = mine + 1
  if mine == 1 then print("vu " .. Exec.vu .. " starts") end
  local r = Tool.invoke("text_manipulator", {input = "vu " .. Exec.vu, operation = "uppercase"})
  check(r, {["uppercased"] = function(v) return v.result == "VU " .. Exec.vu end})
  sleep("10ms")   -- think time: each VU does about 50 iterations in 500ms
end

function teardown()
  -- teardown runs once, outside the VUs (Exec.vu is 0): read the figures back.
  local n = Metrics.stats("iterations").count
  print(n > 10 and "more than 10 iterations in 500ms" or "too few iterations")
end
