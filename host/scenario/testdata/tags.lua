-- Every metric family carries the run's global tags (options.tags and
-- --tag), and a scenario's values its tags too; tasks carry their own.
options = {
  tags = {env = "ci"},
  scenarios = {
    tagged = {executor = "shared-iterations", vus = 2, iterations = 4, tags = {team = "x"}},
  },
  thresholds = {
    ["checks{team:x}"] = {"rate==1"},
    ["c{team:x}"] = {"count==4"},
    ["tool_calls{team:x}"] = {"count==4"},
    ["tool_calls{job:fn}"] = {"count==4"},
    ["tool_calls{job:tool}"] = {"count==4"},
    ["checks{check:\"alpha, beta\"}"] = {"rate==1"},
    ["task_outcomes{job:fn,state:succeeded}"] = {"count==4"},
  },
}

local c = Metrics.counter("c")
local tr = Metrics.trend("tr", "time")

function in_task()
  Tool.invoke("calculator", {input = "3+3"})
  check(1, {["in task"] = function() return true end})
  return 1
end

function default()
  Tool.invoke("calculator", {input = "1+1"})
  check(1, {["alpha, beta"] = function() return true end})
  check(1, {extra = function() return true end}, {kind = "extra"})
  c:add(1)
  tr:add(5, {name = "op"})
  local a = Task.submit{tool = "calculator", params = {input = "2+2"}, tags = {job = "tool"}}
  local b = Task.submit{fn = in_task, tags = {job = "fn"}}
  assert(Task.wait(a).state == "succeeded")
  assert(Task.wait(b).state == "succeeded")
end
