-- lifecycle.lua
-- Teaches: the stages of a run and how data flows through them.
--   1. init: the top level runs once per VU (and once more for setup and
--      teardown); declare options, metrics and functions here.
--   2. setup(): runs once; what it returns is "data".
--   3. per scenario: setup_fn(data) runs once before the scenario; what
--      it returns is the scenario's "sdata".
--   4. each iteration calls exec(data, sdata). Every VU gets its own COPY
--      of data: changes stay in that VU.
--   5. per scenario: teardown_fn(data, sdata) after the scenario ends.
--   6. teardown(data): once, at the very end (it sees the original data).
-- startAfter orders scenarios: "report" starts when "load" has ended.
--
-- run: spellhost run examples/lifecycle.lua
-- expect exit: 0

options = {
  scenarios = {
    load = {executor = "per-vu-iterations", vus = 2, iterations = 3, exec = "work",
            setup = "load_setup", teardown = "load_teardown"},
    report = {executor = "shared-iterations", vus = 1, iterations = 1, exec = "summarize",
              startAfter = "load"},
  },
  thresholds = {checks = {"rate==1"}, iteration_errors = {"count==0"}},
}

function setup()
  print("setup: create the test data once")
  local id = Tool.invoke("uuid_generator", {operation = "deterministic", name = "lifecycle.example"}).uuid
  return {run_id = id, inputs = {"1+1", "2*3", "10/4"}, used = 0}
end

function load_setup(data)
  print("load_setup: the scenario gets its own data; run " .. data.run_id:sub(1, 8))
  return {expected = {2, 6, 2.5}}
end

function work(data, sdata)
  local k = Exec.iteration + 1                -- this VU's iteration, 1..3
  local r = Tool.invoke("calculator", {input = data.inputs[k]})
  check(r, {["matches the scenario's expectation"] = function(v) return v.result == sdata.expected[k] end})
  data.used = data.used + 1                   -- changes only this VU's copy
  check(data, {["each VU counts its own"] = function(d) return d.used == k end})
end

function load_teardown(data, sdata)
  print(("load_teardown: %d expectations per VU; data.used is still %d here"):format(#sdata.expected, data.used))
end

function summarize(data, sdata)
  check(sdata, {["no scenario data without a scenario setup"] = function(s) return s == nil end})
  print("report: starts only after load has ended (startAfter)")
end

function teardown(data)
  -- In the final teardown every VU's figures are in (see custom_metrics.lua).
  local n = Metrics.stats("iterations{scenario:load}").count
  print(("teardown: clean up run %s; load ran %d iterations; data.used = %d"):format(data.run_id:sub(1, 8), n, data.used))
end
