-- faults.lua: every failure mode the kernel stress suite left untested,
-- each a scenario with thresholds that decide pass or fail.
--
--   spellhost run scripts/faults.lua                 -- default sizes
--   spellhost run scripts/faults.lua -- 5            -- 5 times the sizes
--   spellhost run scripts/faults.lua -- 1 0.25       -- recovery within 25% (a noisy machine)
--   make run-faults
--
-- The scenarios run one after another (startAfter), so each sees the
-- kernel as the one before left it:
--   baseline        throughput of a clean kernel, the yardstick for recovery
--   script_errors   Lua errors during iterations: counted, the VU goes on
--   tool_timeouts   a hung tool: answered timeout on time, nothing left running
--   fault_kinds     each kind of injected fault does what it says
--   large_payload   a request over 100 MB: too_large, the host unharmed, memory returned
--   registry_churn  tools registered and removed while other VUs list and invoke
--   many_kernels    several kernels in one process, each under load
--   tasks_faults    tasks under injected failures still end in one terminal state
--   leaks           leaked memory and goroutines, injected, caught by the verdict
--   recovery        every fault cleared: throughput back within 10% of baseline
--
-- Throughput for recovery is judged on the median iteration time of one VU
-- (ops/s = 1000 / median ms): a burst of noise from other processes moves
-- the count of a one-second window, but hardly its median.

local scale = tonumber(ARGS[1] or "1")
local tolerance = tonumber(ARGS[2] or "0.10")
assert(scale and scale > 0, "the first argument scales the sizes: a number above 0")
assert(tolerance and tolerance > 0 and tolerance < 1, "the second argument is the recovery tolerance, e.g. 0.10")
local function n(size) return math.max(1, math.floor(size * scale)) end
local D = string.format("%dms", math.max(300, math.floor(1000 * scale)))

local function after(name, s)
  s.startAfter = name
  if s.iterations then s.maxDuration = s.maxDuration or "5m" end
  return s
end

options = {
  memory = {interval = "10ms"},
  scenarios = {
    baseline = {executor = "constant-vus", vus = 1, duration = D, exec = "calc"},
    script_errors = after("baseline", {executor = "shared-iterations", vus = 2, iterations = n(300), exec = "script_errors"}),
    tool_timeouts = after("script_errors", {executor = "shared-iterations", vus = 4, iterations = n(40), exec = "tool_timeouts",
      setup = "timeouts_setup", teardown = "timeouts_teardown"}),
    fault_kinds = after("tool_timeouts", {executor = "shared-iterations", vus = 1, iterations = 1, exec = "fault_kinds"}),
    large_payload = after("fault_kinds", {executor = "shared-iterations", vus = 1, iterations = 1, exec = "large_payload",
      timeout = "60s"}),
    registry_churn = after("large_payload", {executor = "shared-iterations", vus = 1, iterations = n(500), exec = "churn"}),
    registry_readers = after("large_payload", {executor = "constant-vus", vus = 3, duration = D, exec = "readers"}),
    many_kernels = after("registry_readers", {executor = "per-vu-iterations", vus = 4, iterations = n(500), exec = "many_kernels"}),
    tasks_faults = after("many_kernels", {executor = "shared-iterations", vus = 1, iterations = 1, exec = "tasks_faults"}),
    leaks = after("tasks_faults", {executor = "shared-iterations", vus = 1, iterations = 40, exec = "leaky",
      setup = "leaks_setup", teardown = "leaks_teardown"}),
    recovery = after("leaks", {executor = "constant-vus", vus = 1, duration = D, exec = "calc", teardown = "recovery_teardown"}),
  },
  thresholds = {
    ["iteration_errors{scenario:script_errors}"] = {"count==" .. math.floor(n(300) / 3)},
    ["iterations{scenario:script_errors}"] = {"count==" .. n(300)},
    ["checks{scenario:tool_timeouts}"] = {"rate==1"},
    ["tool_duration{tool:calc_hang}"] = {"max<500"},
    ["checks{scenario:fault_kinds}"] = {"rate==1"},
    ["checks{scenario:large_payload}"] = {"rate==1"},
    ["checks{scenario:registry_readers}"] = {"rate==1"},
    ["iteration_errors{scenario:registry_churn}"] = {"count==0"},
    ["checks{scenario:many_kernels}"] = {"rate==1"},
    ["checks{scenario:tasks_faults}"] = {"rate==1"},
    ["fault_checks"] = {"rate==1"},
  },
}

-- The registry as the run found it: churn only adds tools to it.
local BASE_TOOLS = #Tool.list()

-- settle waits up to a second for cond() to hold (a goroutine that was
-- answered timeout takes a moment to notice its context ended).
local function settle(cond)
  local t0 = now()
  while not cond() and now() - t0 < 1 do sleep(0.005) end
  return cond()
end

-- Checks made in setup and teardown, which belong to no scenario.
local fault_checks = Metrics.rate("fault_checks")
local function verify(name, ok, detail)
  fault_checks:add(ok and 1 or 0, {check = name})
  if not ok then Logger.error("check failed: " .. name, detail) end
  return ok
end

-- baseline and recovery: the same work, one VU.
function calc()
  local r = Tool.invoke("calculator", {input = "(2 + 3) * 4"})
  if r.result ~= 20 then error("calculator answered " .. tostring(r.result)) end
end

function script_errors()
  if Exec.scenario_iteration % 3 == 0 then
    error("planned failure " .. Exec.scenario_iteration)
  end
  Tool.invoke("calculator", {input = "1+1"})
end

-- A copy of the calculator that hangs: every call must be answered
-- timeout within its 50ms limit, and nothing may stay running.
function timeouts_setup()
  Tool.register{name = "calc_hang", like = "calculator"}
  Fault.enable("tool:calc_hang", "hang")
end

function tool_timeouts()
  local t0 = now()
  local _, err = Tool.try("calc_hang", {input = "1+1"}, {timeout = "50ms"})
  local took = now() - t0
  check(err, {
    ["answered timeout"] = function(e) return e ~= nil and e.type == "timeout" end,
    ["on time"] = function() return took < 0.5 end,
  })
end

function timeouts_teardown()
  Fault.disable("tool:calc_hang")
  Tool.unregister("calc_hang")
  local ok = settle(function() local h = Kernel.health() return h.running == 0 and h.abandoned == 0 end)
  verify("no call left running after timeouts", ok, Kernel.health())
end

-- Each kind of fault, scoped with Fault.with.
function fault_kinds()
  local function try(input) return Tool.try("calculator", {input = input or "2*3"}, {timeout = "200ms"}) end
  local kinds = {
    error = function()
      return Fault.with("tool:calculator", "error(unavailable)", function()
        local _, e = try()
        return e and e.type == "injected" and e.injected == "unavailable"
      end)
    end,
    delay = function()
      return Fault.with("tool:calculator", "delay(30ms)", function()
        local t0 = now()
        local r = try()
        return r and r.result == 6 and now() - t0 >= 0.03
      end)
    end,
    hang = function()
      return Fault.with("tool:calculator", "hang", function()
        local _, e = try()
        return e and e.type == "timeout"
      end)
    end,
    panic = function()
      local before = Kernel.health().panics
      return Fault.with("tool:calculator", "panic(boom)", function()
        local _, e = try()
        return e and e.type == "injected" and Kernel.health().panics == before
      end)
    end,
    corrupt = function()
      return Fault.with("tool:calculator", "corrupt", function()
        local r = try()
        return r and r.result ~= 6
      end)
    end,
    truncate = function()
      return Fault.with("tool:text_manipulator", "truncate(4)", function()
        local r = Tool.try("text_manipulator", {input = "abcdefgh", operation = "uppercase"})
        return r and r.result == "ABCD"
      end)
    end,
    throttle = function()
      return Fault.with("tool:calculator", "throttle(5)", function()
        local rejected = 0
        for _ = 1, 20 do
          local _, e = try()
          if e and e.type == "injected" then rejected = rejected + 1 end
        end
        return rejected >= 10
      end)
    end,
    down = function()
      return Fault.with("tool:calc*", "down", function()
        local _, e = try()
        return e and e.injected == "down"
      end)
    end,
    slow_cancel = function()
      return Fault.with("tool:calculator", "slow_cancel(100ms)->off", function()
        local t0 = now()
        local _, e = Tool.try("calculator", {input = "1"}, {timeout = "20ms"})
        -- the answer comes on time even though the tool ignores the cancel
        return (e == nil or e.type == "timeout") and now() - t0 < 0.1
      end)
    end,
    chain_and_count = function()
      return Fault.with("tool:calculator", "2*error(x)->off", function()
        local _, e1 = try()
        local _, e2 = try()
        local r3 = try()
        return e1 ~= nil and e2 ~= nil and r3 ~= nil and r3.result == 6
      end)
    end,
    protocol = function()
      return Fault.with("protocol:decode", "1*truncate(7)->off", function()
        local bad = Kernel.request('{"id":"p","command":"list"}')
        local good = Kernel.request('{"id":"p","command":"list"}')
        return bad.error and bad.error.type == "validation_error" and good.status == "ok"
      end)
    end,
  }
  for name, fn in pairs(kinds) do
    local ok, res = pcall(fn)
    check(ok and res, {[name .. " behaves"] = function(v) return v == true end})
  end
end

-- 101 MB, over the 64 MiB request limit: answered too_large without being
-- parsed, the host unharmed, the memory returned.
function large_payload()
  collectgarbage("collect")
  local before = Kernel.health().heap_bytes
  local payload = string.rep("x", 101 * 1024 * 1024)
  local req = '{"id":"big","command":"invoke","name":"calculator","params":{"input":"' .. payload .. '"}}'
  payload = nil
  local rep = Kernel.request(req)
  req = nil
  collectgarbage("collect")
  local after = Kernel.health().heap_bytes
  check(rep, {
    ["101 MB answered too_large"] = function(r) return r.status == "error" and r.error.type == "too_large" end,
    ["the reply keeps the id"] = function(r) return r.id == "big" end,
    ["the host still serves"] = function() return Tool.invoke("calculator", {input = "1+1"}).result == 2 end,
    ["memory returned"] = function() return after - before < 20 * 1024 * 1024 end,
  })
end

-- One VU changes the registry; three list and invoke meanwhile.
function churn()
  local name = "churn_" .. (Exec.scenario_iteration % 8)
  if Tool.exists(name) then Tool.unregister(name) else Tool.register{name = name, like = "hash_calculator"} end
end

function readers()
  local l = Tool.list()
  local r = Tool.invoke("calculator", {input = "7*6"})
  local _, err = Tool.try("churn_3", {operation = "hash", input = "x"})
  check(l, {
    ["list is consistent"] = function(l) return #l >= BASE_TOOLS end,
    ["invoke unaffected"] = function() return r.result == 42 end,
    ["a churned tool answers ok or not_found"] = function() return err == nil or err.type == "not_found" end,
  })
end

-- Each VU runs its own kernel beside the shared one.
local my_kernel
function many_kernels()
  my_kernel = my_kernel or Kernel.new()
  local a = my_kernel:invoke("calculator", {input = Exec.vu .. " * 10"})
  local b = Tool.invoke("calculator", {input = Exec.vu .. " * 10"})
  check(a, {["each kernel answers right"] = function(a) return a.result == Exec.vu * 10 and b.result == a.result end})
end

-- Tasks under injected failures: every task ends in one terminal state.
function tasks_faults()
  if Task == nil then
    check(true, {["tasks end in one terminal state"] = function() return true end})
    return
  end
  Fault.enable("task:*", "20%error(flaky)")
  Fault.enable("tool:calculator", "10%hang")
  local ids = {}
  for i = 1, n(200) do
    ids[#ids + 1] = Task.submit{tool = "calculator", params = {input = i .. "+1"}, timeout = "50ms", retries = 1,
      backoff = "1ms"}
  end
  local cancelled = 0
  for i = 1, #ids, 10 do
    Task.cancel(ids[i])
    cancelled = cancelled + 1
  end
  local statuses = Task.wait_all(ids, "30s")
  Fault.reset()
  local terminal = {succeeded = 0, failed = 0, timed_out = 0, cancelled = 0}
  local bad = 0
  for _, s in ipairs(statuses) do
    if terminal[s.state] == nil then bad = bad + 1 else terminal[s.state] = terminal[s.state] + 1 end
  end
  local sum = terminal.succeeded + terminal.failed + terminal.timed_out + terminal.cancelled
  Logger.info("tasks under faults", terminal)
  check(statuses, {
    ["tasks end in one terminal state"] = function() return bad == 0 and sum == #ids end,
    ["some tasks failed on purpose"] = function() return terminal.failed + terminal.timed_out > 0 end,
    ["most tasks still succeed"] = function() return terminal.succeeded > #ids / 2 end,
  })
end

-- Leaks on purpose: memory held by every call and goroutines parked;
-- the verdict over this scenario's samples must say leak.
function leaks_setup()
  collectgarbage("collect")
  Fault.enable("tool:calculator", "leak(2MB)")
  Fault.enable("tool:base64_encoder", "leak(goroutine)")
  return {t0 = now()}
end

function leaky()
  Tool.invoke("calculator", {input = "1+1"})
  for _ = 1, 5 do Tool.invoke("base64_encoder", {operation = "encode", input = "x"}) end
  sleep(0.005)
end

function leaks_teardown(_, data)
  local v = Metrics.memory(data.t0)
  Logger.info("leak verdict while leaking", {verdict = v.verdict, reason = v.reason})
  verify("the verdict catches the injected leak", v.verdict == "leak", v)
  Fault.reset()
  collectgarbage("collect")
  local h = Kernel.health()
  verify("leaks released", h.fault_rules == 0, h)
end

-- Everything cleared: throughput back near the baseline, nothing held.
function recovery_teardown()
  local base = 1000 / Metrics.stats("iteration_duration{scenario:baseline}").med
  local rec = 1000 / Metrics.stats("iteration_duration{scenario:recovery}").med
  local info = {baseline_ops = math.floor(base), recovery_ops = math.floor(rec), ratio = rec / base}
  Logger.info("recovery", info)
  verify("throughput within tolerance of the baseline", rec >= (1 - tolerance) * base, info)
  local ok = settle(function()
    local h = Kernel.health()
    return h.status == "ok" and h.running == 0 and h.abandoned == 0 and h.fault_rules == 0
  end)
  local h = Kernel.health()
  verify("kernel healthy after faults", ok, h)
  verify("goroutines back near the start", h.goroutine_growth < 20, h)
end
