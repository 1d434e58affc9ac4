-- Thresholds: one passes, one fails; custom metrics with tags.
local hits = Metrics.counter("hits")
local lat = Metrics.trend("work_time", "time")
options = {
  scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 50}},
  thresholds = {
    hits = {"count==50"},
    ["work_time{kind:fast}"] = {"p(95)<5", "max<10ms"},
    ["work_time{kind:slow}"] = {"avg>1000"},
    checks = "rate==1",
  },
}
function default()
  hits:add(1)
  lat:add(2, {kind = "fast"})
  lat:add(20, {kind = "slow"})
  check(1, {one = function(v) return v == 1 end})
end
