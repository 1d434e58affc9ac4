-- tags.lua
-- Teaches: tags reach every value. options.tags (and --tag KEY=VALUE,
-- which wins) tag everything the run records; a scenario's tags (and
-- scenario=NAME) tag every value its VUs record: iterations, checks, tool
-- calls, your own metrics; check(value, checks, tags) and m:add(v, tags)
-- add their own; a task's tags reach the task_* metrics and the tool
-- calls made inside the task. A threshold then judges any slice:
-- "checks{team:payments}" is the checks of one team's scenarios.
--
-- run: spellhost run --tag run=example examples/tags.lua
-- expect exit: 0

local orders = Metrics.counter("orders")

options = {
  tags = {env = "staging"},                                -- on every value of the run
  scenarios = {
    checkout = {executor = "shared-iterations", vus = 2, iterations = 10, tags = {team = "payments"}},
    search = {executor = "shared-iterations", vus = 1, iterations = 5, tags = {team = "discovery"}, exec = "search"},
  },
  thresholds = {
    ["checks{team:payments}"] = {"rate==1"},                -- only the checkout scenario's checks
    ["tool_calls{team:discovery}"] = {"count==5"},          -- built-in metrics carry the tags too
    ["orders{team:payments,env:staging}"] = {"count==10"},  -- and your own
    ["checks{kind:smoke}"] = {"rate==1"},                   -- check's own tags
    ["tool_calls{job:audit}"] = {"count==10"},              -- tool calls inside tasks, by the task's tags
    ["iterations{run:example}"] = {"count==15"},            -- --tag run=example
    iteration_errors = {"count==0"},
  },
}

function default()
  local r = Tool.invoke("calculator", {input = "19.99 * 2"})
  check(r, {["total is right"] = function(v) return math.abs(v.result - 39.98) < 1e-9 end})
  check(r, {["has a result"] = function(v) return v.result ~= nil end}, {kind = "smoke"})
  orders:add(1)
  local id = Task.submit{tool = "hash_calculator", params = {operation = "hash", input = "order"}, tags = {job = "audit"}}
  assert(Task.wait(id).state == "succeeded")
end

function search()
  Tool.invoke("text_manipulator", {input = "red shoes", operation = "count"})
end

function teardown()
  local payments = Metrics.stats("checks{team:payments}")
  print(("payments checks: %d, all passed: %s"):format(payments.count, tostring(payments.rate == 1)))
end
