-- report_demo.lua: the run behind the report screenshot in the README.
-- A ramping scenario whose calculator calls fail now and then, a paced
-- one that outruns its VUs (dropped iterations), a named trend, checks
-- and thresholds, for about 20 seconds.
--
-- run: spellhost run --report report.html --fault 'tool:hash_calculator=3%error(unavailable)' docs/demo/report_demo.lua

local req = Metrics.trend("request_duration", "time")

options = {
  scenarios = {
    browse = {
      executor = "ramping-vus", startVUs = 1,
      stages = {{duration = "6s", target = 8}, {duration = "8s", target = 8}, {duration = "6s", target = 2}},
    },
    api = {
      executor = "constant-arrival-rate", rate = 150, timeUnit = "1s", duration = "20s",
      preAllocatedVUs = 2, maxVUs = 4, exec = "api",
    },
  },
  thresholds = {
    ["iteration_duration{scenario:browse}"] = {"p(95)<60"},
    ["request_duration{name:GET /items}"] = {"p(99)<40"},
    checks = {"rate>0.99"},
  },
}

function default()
  local r, err = Tool.try("calculator", {input = "(17 + 25) * 3"})
  check(r, {["calculator answers 126"] = function(x) return x and x.result == 126 end})
  if math.random() < 0.01 then error("the page did not load") end
  local t0 = now()
  sleep(0.01 + math.random() * 0.03)
  req:add((now() - t0) * 1000, {name = "GET /items"})
end

function api()
  local _, err = Tool.try("hash_calculator", {operation = "hash", input = "payload"})
  if err then error(err) end
  local t0 = now()
  sleep(0.005 + math.random() * 0.02)
  req:add((now() - t0) * 1000, {name = "POST /orders"})
end
