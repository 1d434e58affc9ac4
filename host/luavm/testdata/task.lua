-- Task.submit/status/wait/wait_all/cancel/list/stats/spend, tool and fn
-- tasks, and bad input.
local expect = require("expect")

-- a global the fn tasks may call: worker states ran this top level too
function double(x) return x * 2 end

local id = Task.submit{tool = "calculator", params = {input = "6*7"}, tags = {suite = "t"}}
expect.truthy(id:match("^t%-%d+$"))
local st = Task.wait(id, "5s")
expect.eq(st.state, "succeeded")
expect.eq(st.result.result, 42)
expect.eq(st.attempts, 1)
expect.eq(Task.status(id).tags.suite, "t")

-- a Lua function in a worker's own state, with args and globals
local fid = Task.submit{fn = function(a, b) return {sum = double(a) + b, vu = Exec.vu} end, args = {20, 2}}
st = Task.wait(fid)
expect.eq(st.state, "succeeded")
expect.eq(st.result.sum, 42)
expect.eq(st.result.vu, 0)

-- errors, retries, timeouts, budget
st = Task.wait(Task.submit{fn = function() error("boom") end, retries = 2, backoff = "1ms"})
expect.eq(st.state, "failed")
expect.eq(st.attempts, 3)
expect.eq(st.error.type, "execution_error")
expect.truthy(st.error.message:find("boom", 1, true))
st = Task.wait(Task.submit{fn = function() Tool.invoke("no_such_tool", {}) end, retries = 3})
expect.eq(st.attempts, 1)  -- not_found is not retried
st = Task.wait(Task.submit{tool = "sleeper", params = {ms = 5000}, timeout = "30ms"})
expect.eq(st.state, "timed_out")
expect.eq(st.error.type, "timeout")
st = Task.wait(Task.submit{fn = function() while true do end end, timeout = "30ms"})
expect.eq(st.state, "timed_out")
st = Task.wait(Task.submit{fn = function() Task.spend(30000) Task.spend(30000) return "spent" end, budget = 50000})
expect.eq(st.state, "failed")
expect.eq(st.error.type, "budget_exhausted")

-- cancel while running
local sid = Task.submit{tool = "sleeper", params = {ms = 60000}}
while Task.status(sid).state ~= "running" do sleep(0.001) end
Task.cancel(sid)
expect.eq(Task.wait(sid).state, "cancelled")

-- wait_all keeps order; list filters and pages
local ids = {}
for i = 1, 5 do ids[i] = Task.submit{tool = "calculator", params = {input = i .. "*10"}, tags = {batch = "b"}} end
local all = Task.wait_all(ids, 10)
for i = 1, 5 do expect.eq(all[i].result.result, i * 10) end
local page = Task.list{tag = "batch:b", limit = 2}
expect.eq(page.total, 5)
expect.eq(#page.tasks, 2)
expect.eq(page.next, 2)
expect.eq(Task.list{state = "cancelled"}.total, 1)

local s = Task.stats()
expect.eq(s.balanced, true)
expect.truthy(s.succeeded >= 7)

-- a wait that runs out raises timeout
local long = Task.submit{tool = "sleeper", params = {ms = 60000}}
local ok, werr = pcall(Task.wait, long, "20ms")
expect.eq(ok, false)
expect.eq(werr.type, "timeout")
Task.cancel(long)

local up = 5
local bad = {
  {function() Task.submit{} end, "give tool = NAME"},
  {function() Task.submit{tool = "nope"} end, "nope"},
  {function() Task.submit{tool = "calculator", fn = print} end, "not both"},
  {function() Task.submit{fn = print} end, "not a built-in"},
  {function() Task.submit{fn = function() return up end} end, "captures local variables"},
  {function() Task.submit{tool = "calculator", retries = -1} end, "retries"},
  {function() Task.submit{tool = "calculator", timeout = "soon"} end, "timeout"},
  {function() Task.submit{tool = "calculator", colour = 1} end, 'unknown field "colour"'},
  {function() Task.submit{tool = "calculator", args = {1}} end, "args go with fn"},
  {function() Task.submit{fn = function() end, params = {}} end, "params go with tool"},
  {function() Task.submit{tool = "calculator", params = {1, 2}} end, "named fields"},
  {function() Task.status("t-999999") end, "t-999999"},
  {function() Task.status() end, "missing"},
  {function() Task.wait(id, -1) end, "timeout"},
  {function() Task.wait_all({id, 5}) end, "ids[2]"},
  {function() Task.list{state = "sleeping"} end, "sleeping"},
  {function() Task.list{limit = "x"} end, "expected number"},
  {function() Task.list{colour = 1} end, 'unknown field "colour"'},
  {function() Task.spend(1) end, "only inside a function running as a task"},
  {function() Task.spend("x") end, "expected number"},
  {function() Task.stats(1) end, "unexpected extra argument"},
}
for i, c in ipairs(bad) do
  local ok, e = pcall(c[1])
  expect.eq(ok, false)
  if not tostring(e):find(c[2], 1, true) then
    error(("case %d: %s lacks %q"):format(i, tostring(e), c[2]))
  end
end
