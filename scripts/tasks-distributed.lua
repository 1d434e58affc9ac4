-- tasks-distributed.lua: work that spellhost worker processes share. The
-- run submits tool tasks to a NATS JetStream namespace and runs none
-- itself; the workers pull them. It checks the accounting: every task
-- succeeded once with the right result, every worker took a share, the
-- shares add up, and Task.stats lists the workers.
--
--   spellhost serve --data-dir /tmp/spellhost --nats-listen 127.0.0.1:4222 --task-workers 0 &
--   spellhost worker --nats nats://127.0.0.1:4222 &
--   spellhost worker --nats nats://127.0.0.1:4222 &
--   spellhost run scripts/tasks-distributed.lua -- nats://127.0.0.1:4222 500 2
--
-- (any NATS server with JetStream does in place of spellhost serve.)
-- Arguments: the NATS URL (required), tasks (default 200), the workers
-- that must take a share (default 2), the namespace (default "default").

local URL = ARGS[1]
local TASKS = tonumber(ARGS[2] or "200")
local WORKERS = tonumber(ARGS[3] or "2")
local NAMESPACE = ARGS[4] or "default"
assert(URL and URL:match("^%a+://"), "the first argument is the NATS URL, as nats://127.0.0.1:4222")
assert(TASKS and TASKS >= 1 and TASKS == math.floor(TASKS), "the second argument is the number of tasks, from 1")
assert(WORKERS and WORKERS >= 1, "the third argument is the number of workers, from 1")

options = {
  tasks = {backend = "jetstream", nats = URL, namespace = NAMESPACE, ["local"] = false, timeout = "30s"},
  scenarios = {
    share = {executor = "shared-iterations", vus = 1, iterations = 1, exec = "share", maxDuration = "10m"},
  },
  thresholds = {
    ["checks"] = {"rate==1"},
  },
}

function share()
  local ids = {}
  for i = 1, TASKS do
    ids[i] = Task.submit{tool = "calculator", params = {input = i .. " * 3"}, tags = {run = "distributed"}, retries = 2}
  end
  local statuses = Task.wait_all(ids, "5m")
  local per = {}
  local right = 0
  for i, st in ipairs(statuses) do
    if st.state == "succeeded" and st.result and st.result.result == i * 3 and st.attempts >= 1 then
      right = right + 1
    else
      Logger.warn("task", {id = st.id, state = st.state, error = st.error and st.error.message})
    end
    if st.worker then per[st.worker] = (per[st.worker] or 0) + 1 end
  end
  local shares, sum = 0, 0
  for w, n in pairs(per) do
    shares = shares + 1
    sum = sum + n
    Logger.info("share", {worker = w, tasks = n})
  end
  local s = Task.stats()
  local nodes = s.nodes or {}
  check(s, {
    ["every task succeeded with its result"] = function() return right == TASKS end,
    ["every worker took a share"] = function() return shares >= WORKERS end,
    ["the shares add up"] = function() return sum == TASKS end,
    ["the accounting balances"] = function(s) return s.balanced end,
    ["Task.stats lists the workers"] = function() return #nodes >= WORKERS end,
  })
  Logger.info("tasks", {submitted = s.submitted, succeeded = s.succeeded, workers = #nodes, shares = shares})
end
