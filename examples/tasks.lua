-- tasks.lua
-- Teaches: the kernel's async task API. Task.submit queues a tool call
-- ({tool, params}) or a Lua function ({fn, args}) and returns an id at
-- once; Task.wait / Task.wait_all collect final statuses; Task.cancel
-- stops a task; retries (with backoff) re-run failed attempts. A fn task
-- runs in a worker's own Lua state: it can call global functions of the
-- script but sees no local variables, so pass data in args.
-- options.tasks sizes the worker pool and sets defaults; with it, tasks
-- must be submitted from setup or a scenario, not the top level, so the
-- work here is in default() (one iteration on one VU).
--
-- run: spellhost run examples/tasks.lua
-- expect exit: 0

options = {
  tasks = {workers = 4, queue = 100, timeout = "5s"},   -- timeout: per attempt
  thresholds = {
    -- the task_* metrics count final states
    ["task_outcomes{state:succeeded}"] = {"count==7"},
    ["task_outcomes{state:cancelled}"] = {"count==1"},
    task_retries = {"count==4"},
    iteration_errors = {"count==0"},   -- a failed assert in default() fails the run
  },
}

-- A global function a fn task may call: worker states run this top level
-- too, so it exists there (it captures no locals).
function word_stats(text, min_len)
  local n = 0
  for w in text:gmatch("%a+") do
    if #w >= min_len then n = n + 1 end
  end
  local h = Tool.invoke("hash_calculator", {operation = "hash", input = text, algorithm = "sha256"})
  return {long_words = n, hash = h.hash:sub(1, 12)}
end

function default()
  -- 1. Tool tasks: submit a batch, then wait for all (statuses come back in order).
  local ids = {}
  for i = 1, 5 do
    ids[i] = Task.submit{tool = "calculator", params = {input = i .. " * 10"}, tags = {batch = "calc"}}
  end
  for i, st in ipairs(Task.wait_all(ids, "5s")) do
    assert(st.state == "succeeded" and st.result.result == i * 10)
  end
  print("batch:", #ids .. " tasks succeeded; ids like " .. ids[1])

  -- 2. A Lua function as a task, calling the global word_stats; its
  -- arguments travel in args.
  local fid = Task.submit{fn = function(text, min_len) return word_stats(text, min_len) end,
    args = {"tasks run in worker states of their own", 5}}
  local st = Task.wait(fid)
  print("fn task:", st.state, "long words = " .. st.result.long_words, "hash " .. st.result.hash)

  -- 3. Retries: an attempt that fails is retried after a backoff. Here the
  -- first two attempts of calculator tasks fail by injection; the third succeeds.
  st = Fault.with("task:calculator", "2*error(flaky)->off", function()
    return Task.wait(Task.submit{tool = "calculator", params = {input = "2+2"}, retries = 3, backoff = "5ms"})
  end)
  print("retried:", st.state, "after " .. st.attempts .. " attempts")
  assert(st.state == "succeeded" and st.attempts == 3)

  -- A failure that lasts: every attempt fails, and the task ends failed.
  st = Task.wait(Task.submit{fn = function() error("always broken") end, retries = 2, backoff = "1ms"})
  print("gave up:", st.state, st.attempts .. " attempts", st.error.type)
  assert(st.state == "failed" and st.attempts == 3)

  -- 4. Cancel a task that would run for a minute.
  local slow = Task.submit{fn = function() sleep(60) return "too late" end}
  while Task.status(slow).state == "queued" do sleep("1ms") end
  Task.cancel(slow)
  st = Task.wait(slow, "2s")
  print("cancelled:", st.state)
  assert(st.state == "cancelled")

  -- A per-task timeout ends an attempt that overruns: timed_out.
  st = Task.wait(Task.submit{fn = function() sleep(60) end, timeout = "50ms"})
  print("timeout:", st.state)

  -- 5. Listing and accounting.
  print("tagged batch:", Task.list{tag = "batch:calc"}.total .. " tasks")
  local s = Task.stats()
  print(("stats: %d submitted, %d succeeded, %d failed, %d cancelled, %d timed out, balanced=%s"):format(
    s.submitted, s.succeeded, s.failed, s.cancelled, s.timed_out, tostring(s.balanced)))
  assert(s.balanced)
end
