-- custom_metrics.lua
-- Teaches: your own metrics. Metrics.counter/gauge/rate/trend(name [, unit])
-- declare a metric (at the top level, so thresholds can name it);
-- m:add(value, {tag = "value"}) records into the series of those tags
-- (the scenario tag is added for you). A threshold on
-- "name{tag:value}" judges one sub-metric; Metrics.stats reads figures
-- back during the run. Units: "time" values are milliseconds (thresholds
-- may say 5ms or 1s), "data" values are bytes (thresholds may say 1MB).
--
-- run: spellhost run examples/custom_metrics.lua
-- expect exit: 0

local requests = Metrics.counter("requests")            -- a sum
local queue    = Metrics.gauge("queue_depth")           -- the last value, min and max
local hits     = Metrics.rate("cache_hits")             -- the share of true/non-zero values
local latency  = Metrics.trend("op_latency", "time")    -- a distribution, in ms
local payload  = Metrics.trend("payload_size", "data")  -- a distribution, in bytes

options = {
  scenarios = {
    ops = {executor = "shared-iterations", vus = 1, iterations = 60},
  },
  thresholds = {
    requests = {"count==60"},
    ["requests{op:hash}"] = {"count==20"},                  -- a sub-metric: one tag
    ["requests{op:encode,scenario:ops}"] = {"count==20"},   -- two tags (scenario is automatic)
    queue_depth = {"max<=9", "value>=0"},
    cache_hits = {"rate>0.6"},                              -- 2 in 3 are hits
    ["op_latency{op:hash}"] = {"p(95)<50ms", "max<1s"},
    ["op_latency{op:upper}"] = {"avg<50"},                  -- plain numbers are ms
    payload_size = {"max<=1kB"},
    iteration_errors = {"count==0"},
  },
}

local ops = {
  hash   = function(s) return Tool.invoke("hash_calculator", {operation = "hash", input = s, algorithm = "md5"}) end,
  encode = function(s) return Tool.invoke("base64_encoder", {operation = "encode", input = s}) end,
  upper  = function(s) return Tool.invoke("text_manipulator", {operation = "uppercase", input = s}) end,
}
local names = {"hash", "encode", "upper"}

function default()
  local i = Exec.scenario_iteration
  local op = names[i % 3 + 1]
  local input = string.rep("x", 10 * (i + 1))

  local t0 = now()
  ops[op](input)
  latency:add((now() - t0) * 1000, {op = op})      -- seconds -> ms
  requests:add(1, {op = op})
  payload:add(#input)
  queue:add(i % 10)
  hits:add(i % 3 ~= 0)                             -- booleans count as 1 and 0
end

function teardown()
  local s = Metrics.stats("op_latency{op:hash}")
  print(("hash: %d calls, p95 %.3f ms"):format(s.count, s.p95))
  print("requests by op:", Metrics.stats("requests{op:hash}").count,
    Metrics.stats("requests{op:encode}").count, Metrics.stats("requests{op:upper}").count)
  print(("cache hit rate %.2f, queue depth max %d"):format(Metrics.stats("cache_hits").rate, Metrics.stats("queue_depth").max))
end
