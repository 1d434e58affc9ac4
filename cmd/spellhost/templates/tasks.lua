-- The async task API: submit tool calls and Lua functions, wait for them,
-- cancel one, and check every task ends in exactly one terminal state.
--
--   spellhost run THIS_FILE.lua

options = {
  tasks = {workers = 4, timeout = "10s"},
  scenarios = {
    batch = {executor = "per-vu-iterations", vus = 2, iterations = 5},
  },
  thresholds = {
    ["task_outcomes{state:succeeded}"] = {"count>=10"},
    ["checks"] = {"rate==1"},
  },
}

-- A global function a task may call: a task runs in a worker's own Lua
-- state, so it sees global functions but not your local variables.
function square(x) return x * x end

function default()
  local ids = {}
  -- a tool call as a task, retried on failure with backoff
  ids[#ids + 1] = Task.submit{tool = "hash_calculator", params = {operation = "hash", input = "spellhost"},
    retries = 2, backoff = "10ms", tags = {kind = "tool"}}
  -- a Lua function as a task; data goes in through args
  ids[#ids + 1] = Task.submit{fn = function(n) return square(n) end, args = {Exec.vu + 1}, tags = {kind = "fn"}}
  -- one to cancel
  local slow = Task.submit{fn = function() sleep(5) end}
  Task.cancel(slow)

  local statuses = Task.wait_all(ids, "5s")
  check(statuses, {
    ["every task succeeded"] = function(s) return s[1].state == "succeeded" and s[2].state == "succeeded" end,
    ["the function's result came back"] = function(s) return s[2].result == (Exec.vu + 1) ^ 2 end,
    ["the cancelled task says so"] = function() return Task.wait(slow).state == "cancelled" end,
    ["every task is in exactly one state"] = function() return Task.stats().balanced end,
  })
end
