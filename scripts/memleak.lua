-- memleak.lua: the orchestrator memory-leak test. Tasks are submitted one
-- after another with a 60s per-task timeout, then a monitoring period;
-- the memory sampler runs throughout and the verdict judges the whole run
-- against the seed's thresholds (growth over 20 MB warns, over 50 MB fails).
--
--   spellhost run scripts/memleak.lua                     -- 100 tasks, 2s monitoring
--   spellhost run scripts/memleak.lua -- 1000 10          -- 1000 tasks, 10s monitoring
--   spellhost run scripts/memleak.lua --report r.md -- 500   -- with the memory timeline in r.md
--   spellhost run scripts/memleak.lua -- 1000 5 0 jetstream  -- tasks kept in JetStream
--
-- Arguments: tasks (default 100), monitoring seconds (default 2), pause
-- between submissions in milliseconds (default 5), the task backend
-- (memory, the default, or jetstream: an embedded NATS server; set
-- SPELLHOST_NATS_URL to use a cluster instead). Half the tasks invoke
-- a tool; half run a Lua function in a task worker that hashes, encodes
-- and spends from a 50,000-token budget, as the seed's tasks did.
--
-- Nothing here depends on the machine's speed: the checks are the task
-- manager's accounting and the live heap as of the last garbage
-- collection, and the 60 s task timeout only catches a hang (beside a CPU
-- hog, a task ran for 0.04 ms at the median and 0.4 ms at most).

local TASKS = tonumber(ARGS[1] or "100")
local MONITOR = tonumber(ARGS[2] or "2")
local PAUSE = tonumber(ARGS[3] or "5")
assert(TASKS and TASKS >= 1 and TASKS == math.floor(TASKS), "the first argument is the number of tasks, from 1")
assert(MONITOR and MONITOR > 0, "the second argument is the monitoring period in seconds, above 0")
assert(PAUSE and PAUSE >= 0, "the third argument is the pause between submissions in ms, from 0")
local BACKEND = ARGS[4] or "memory"
assert(BACKEND == "memory" or BACKEND == "jetstream", "the fourth argument is the task backend: memory or jetstream")

options = {
  tasks = {workers = 4, timeout = "60s", budget = 50000, backend = BACKEND},
  memory = {interval = "20ms", warn = "20MiB", fail = "50MiB"},
  scenarios = {
    submit = {executor = "shared-iterations", vus = 1, iterations = TASKS, exec = "submit", maxDuration = "1h"},
    monitor = {executor = "constant-vus", vus = 1, duration = MONITOR .. "s", exec = "monitor", startAfter = "submit",
               teardown = "report"},
  },
  thresholds = {
    ["task_outcomes{state:succeeded}"] = {"count==" .. TASKS},
    ["memory_growth"] = {"value<50MiB"},
    ["checks"] = {"rate==1"},
  },
}

-- A task's work: what an agent step does, in miniature.
function agent_step(n)
  local text = string.rep("task " .. n .. " ", 50)
  local h = Tool.invoke("hash_calculator", {operation = "hash", input = text, algorithm = "sha256"})
  local doc = JSON.decode(JSON.encode({id = n, hash = h.hash, words = {"alpha", "beta", "gamma"}}))
  Task.spend(#text)  -- tokens
  return {id = doc.id, hash = doc.hash}
end

function submit()
  local n = Exec.scenario_iteration + 1
  if n % 2 == 0 then
    Task.submit{tool = "text_manipulator", params = {input = "Task number " .. n, operation = "snake_case"},
      tags = {kind = "tool"}}
  else
    Task.submit{fn = agent_step, args = {n}, tags = {kind = "fn"}}
  end
  if PAUSE > 0 then sleep(PAUSE / 1000) end
end

function monitor()
  local s = Task.stats()
  check(s, {["task accounting balances"] = function(s) return s.balanced end})
  sleep(0.1)
end

function report()
  local s = Task.stats()
  local m = Metrics.memory()
  Logger.info("tasks", {submitted = s.submitted, succeeded = s.succeeded, failed = s.failed,
    timed_out = s.timed_out, live = s.queued + s.running + s.retrying})
  Logger.info("memory so far", {verdict = m.verdict, heap_growth_mb = m.heap_growth / 1e6,
    goroutine_growth = m.goroutine_growth})
  local failed = Task.list{state = "failed", limit = 3}
  for _, t in ipairs(failed.tasks) do Logger.warn("failed task", {id = t.id, error = t.error.message}) end
end
