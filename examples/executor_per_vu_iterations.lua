-- executor_per_vu_iterations.lua
-- Teaches: the per-vu-iterations executor. Every VU runs the same number
-- of iterations, so the total is vus * iterations however fast each VU
-- is. Exec.iteration counts a VU's own iterations from 0. A counter
-- tagged by VU shows the even split, read back in teardown.
--
-- run: spellhost run examples/executor_per_vu_iterations.lua
-- expect exit: 0

local per_vu = Metrics.counter("per_vu_work")

options = {
  scenarios = {
    each = {
      executor = "per-vu-iterations",
      vus = 3,
      iterations = 5,        -- per VU: 15 in all
      maxDuration = "10s",
    },
  },
  thresholds = {
    ["iterations{scenario:each}"] = {"count==15"},
    iteration_errors = {"count==0"},   -- an error (a failed assert) fails the run only through a threshold
    -- every VU did exactly its 5
    ["per_vu_work{vu:1}"] = {"count==5"},
    ["per_vu_work{vu:2}"] = {"count==5"},
    ["per_vu_work{vu:3}"] = {"count==5"},
  },
}

function default()
  per_vu:add(1, {vu = tostring(Exec.vu)})
  Tool.invoke("uuid_generator", {})
  -- VU 1 is slower, yet it still gets (and must finish) its 5 iterations
  if Exec.vu == 1 then sleep("2ms") end
  if Exec.iteration == 4 then print(("vu %d finished its last iteration (Exec.iteration 4)"):format(Exec.vu)) end
end

function teardown()
  for vu = 1, 3 do
    print(("vu %d ran %d iterations"):format(vu, Metrics.stats("per_vu_work{vu:" .. vu .. "}").count))
  end
end
