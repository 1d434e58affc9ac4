-- faults.lua: every failure mode the kernel stress suite left untested,
-- each a scenario with thresholds that decide pass or fail.
--
--   spellhost run scripts/faults.lua                 -- default sizes
--   spellhost run scripts/faults.lua -- 5            -- 5 times the sizes
--   spellhost run scripts/faults.lua -- 1 0.25       -- recovery within 25%
--   spellhost run scripts/faults.lua -- 1 0.10 30    -- the probe's tool kept 30% slower: fails
--   make run-faults
--   make soak-faults           -- 30 runs beside a CPU hog, then degraded runs that must fail
--
-- setup() measures a clean kernel, the yardstick for recovery. Then the
-- scenarios run one after another (startAfter), so each sees the kernel
-- as the one before left it:
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
-- Recovery is judged by require("recovery") (lua/recovery.lua says the
-- method in full): the same probe, a hash_calculator call on the shared
-- kernel, measured in 30 windows of 25 ms before the chaos and 30 after,
-- each window interleaved in 100 µs blocks with its twin, the same call
-- on a kernel started for the measurement, which the chaos never touched.
-- Machine noise slows both blocks of a pair alike; only what the chaos
-- left in the shared kernel moves their ratio. The verdict compares the
-- ratios before and after with a rank test (Hodges-Lehmann ratio, Moses
-- 95% confidence interval): it passes when the lower bound is at least
-- 1 - tolerance, fails when the upper bound is below it, and in between
-- warns "inconclusive" with its figures. The recovery scenario's check
-- carries the ratio and the bounds into the summary.
--
-- No check here rests on the machine being idle. Timeouts are judged by
-- the limit the kernel says fired and by their median lateness beside the
-- scheduler's own, measured in the same iterations; a tool that ignores
-- its cancellation is judged by the kernel's count of abandoned calls;
-- throttling by its own accounting of the time the calls took; waits for
-- the kernel to settle have deadlines that only catch a hang.

local scale = tonumber(ARGS[1] or "1")
local tolerance = tonumber(ARGS[2] or "0.10")
local degrade = tonumber(ARGS[3] or "0")
assert(scale and scale > 0, "the first argument scales the sizes: a number above 0")
assert(tolerance and tolerance > 0 and tolerance < 1, "the second argument is the recovery tolerance, e.g. 0.10")
assert(degrade and degrade >= 0 and degrade <= 1000,
  "the third argument keeps the probe's tool that many percent slower after the chaos, from 0 (off) to 1000")
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
    script_errors = {executor = "shared-iterations", vus = 2, iterations = n(300), exec = "script_errors", maxDuration = "5m"},
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
    recovery = after("leaks", {executor = "shared-iterations", vus = 1, iterations = 1, exec = "recovery_check",
      teardown = "recovery_teardown"}),
  },
  thresholds = {
    ["iteration_errors{scenario:script_errors}"] = {"count==" .. math.floor(n(300) / 3)},
    ["iterations{scenario:script_errors}"] = {"count==" .. n(300)},
    ["checks{scenario:tool_timeouts}"] = {"rate==1"},
    ["checks{scenario:fault_kinds}"] = {"rate==1"},
    ["checks{scenario:large_payload}"] = {"rate==1"},
    ["checks{scenario:registry_readers}"] = {"rate==1"},
    ["iteration_errors{scenario:registry_churn}"] = {"count==0"},
    ["checks{scenario:many_kernels}"] = {"rate==1"},
    ["checks{scenario:tasks_faults}"] = {"rate==1"},
    ["checks{scenario:recovery}"] = {"rate==1"},
    ["fault_checks"] = {"rate==1"},
  },
}

-- The registry as the run found it: churn only adds tools to it.
local BASE_TOOLS = #Tool.list()

-- settle waits for cond() to hold (a goroutine that was answered timeout
-- takes a moment to notice its context ended) and returns whether it did
-- and the seconds it took. Its 10 s deadline only catches a hang: a busy
-- machine makes the wait longer, never the answer wrong.
local function settle(cond)
  local t0 = now()
  while not cond() and now() - t0 < 10 do sleep(0.005) end
  return cond(), now() - t0
end

-- Checks made in setup and teardown, which belong to no scenario.
local fault_checks = Metrics.rate("fault_checks")
local function verify(name, ok, detail)
  fault_checks:add(ok and 1 or 0, {check = name})
  if not ok then Logger.error("check failed: " .. name, detail) end
  return ok
end

function script_errors()
  if Exec.scenario_iteration % 3 == 0 then
    error("planned failure " .. Exec.scenario_iteration)
  end
  Tool.invoke("calculator", {input = "1+1"})
end

-- A copy of the calculator that hangs: every call must be answered
-- timeout by its own 50 ms limit, never before it, and on time; nothing
-- may stay running.
--
-- "On time" is judged against the scheduler, not a fixed stopwatch: each
-- iteration also times a 1 ms sleep, whose overshoot is how late this
-- machine wakes a VU at that moment. A timeout's answer takes about three
-- such wake-ups (the timer's goroutine, the cancellation, the caller), so
-- the timeouts' median lateness must stay within half the limit plus three
-- times the sleeps' median overshoot. A kernel that waited for the tool,
-- or fired at twice the limit, is late by the whole limit on an idle
-- machine; a busy machine widens the bound as it delays the answers.
local LIMIT = 0.05
local timeout_late = Metrics.trend("timeout_lateness", "time")
local wake_late = Metrics.trend("wake_lateness", "time")

function timeouts_setup()
  Tool.register{name = "calc_hang", like = "calculator"}
  Fault.enable("tool:calc_hang", "hang")
end

function tool_timeouts()
  local s0 = now()
  sleep(0.001)
  wake_late:add(math.max(0, now() - s0 - 0.001) * 1000)
  local t0 = now()
  local _, err = Tool.try("calc_hang", {input = "1+1"}, {timeout = "50ms"})
  local took = now() - t0
  timeout_late:add(math.max(0, took - LIMIT) * 1000)
  check(err, {
    ["answered timeout"] = function(e) return e ~= nil and e.type == "timeout" end,
    ["by its own 50ms limit"] = function(e) return e ~= nil and e.message:find("timed out after 50ms", 1, true) ~= nil end,
    ["not before its limit"] = function() return took >= LIMIT end,
  })
end

function timeouts_teardown()
  Fault.disable("tool:calc_hang")
  Tool.unregister("calc_hang")
  local ok, waited = settle(function() local h = Kernel.health() return h.running == 0 and h.abandoned == 0 end)
  verify("no call left running after timeouts", ok, {waited_s = waited, health = Kernel.health()})
  local late, wake = Metrics.stats("timeout_lateness"), Metrics.stats("wake_lateness")
  local bound = LIMIT * 1000 / 2 + 3 * wake.med
  local info = {median_late_ms = late.med, p99_late_ms = late.p99, max_late_ms = late.max,
    median_wake_ms = wake.med, p99_wake_ms = wake.p99, bound_ms = bound}
  Logger.info("timeouts: lateness beside the scheduler's", info)
  verify("timeouts answered on time", late.med <= bound, info)
  if late.p99 > LIMIT * 1000 + wake.p99 then
    Logger.warn("some timeouts were answered late: the machine was busy, or the kernel slow to answer", info)
  end
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
      -- A burst of 5, then 5 calls a second: of 20 calls, at most 5 + 5 per
      -- second they took get through (one more for a token that comes due
      -- as the clock is read), however slow the machine makes them.
      local t0 = now()
      return Fault.with("tool:calculator", "throttle(5)", function()
        local passed, rejected = 0, 0
        for _ = 1, 20 do
          local r, e = try()
          if e and e.type == "injected" then rejected = rejected + 1 elseif r and r.result == 6 then passed = passed + 1 end
        end
        local allowed = 5 + math.floor(5 * (now() - t0)) + 1
        return passed + rejected == 20 and passed >= 5 and passed <= allowed
      end)
    end,
    down = function()
      return Fault.with("tool:calc*", "down", function()
        local _, e = try()
        return e and e.injected == "down"
      end)
    end,
    slow_cancel = function()
      -- A watch that would last 10 s, whose tool ignores its cancellation
      -- for 2 s: the caller is answered at its own 20 ms limit while the
      -- tool still runs, which the kernel counts as an abandoned call. (The
      -- kinds run in any order: a hang's call may be a moment from
      -- reclaimed, so the count starts once nothing is abandoned.)
      settle(function() return Kernel.health().abandoned == 0 end)
      local before = Kernel.health().abandoned
      return Fault.with("tool:file_watcher", "slow_cancel(2s)->off", function()
        local _, e = Tool.try("file_watcher", {operation = "watch", input = ".", timeout_ms = 10000}, {timeout = "20ms"})
        local abandoned = Kernel.health().abandoned
        return e ~= nil and e.type == "timeout" and e.message:find("timed out after 20ms", 1, true) ~= nil
          and abandoned > before
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

-- Leaks on purpose: 2 MB held by every calculator call (80 MB in all) and
-- a goroutine parked by every base64 call (400); the verdict over this
-- scenario's samples must say leak. The verdict compares the first fifth
-- of the samples with the last, so on a busy machine (a starved sampler,
-- a collector that runs late) a leak that was still growing at the end
-- could read as "growth". The teardown therefore collects garbage and
-- holds the leak for 200 ms first: the last fifth then sees all of it,
-- and the goroutines alone are four times the limit of 100.
function leaks_setup()
  collectgarbage("collect")
  Fault.enable("tool:calculator", "leak(2MB)")
  Fault.enable("tool:base64_encoder", "leak(goroutine)")
  return {t0 = now()}
end

function leaky()
  Tool.invoke("calculator", {input = "1+1"})
  for _ = 1, 10 do Tool.invoke("base64_encoder", {operation = "encode", input = "x"}) end
  sleep(0.005)
end

function leaks_teardown(_, data)
  collectgarbage("collect")
  sleep(0.2)
  local v = Metrics.memory(data.t0)
  Logger.info("leak verdict while leaking", {verdict = v.verdict, reason = v.reason,
    heap_growth_mib = v.heap_growth / 1048576, goroutine_growth = v.goroutine_growth, samples = v.samples})
  verify("the verdict catches the injected leak", v.verdict == "leak", v)
  Fault.reset()
  collectgarbage("collect")
  local h = Kernel.health()
  verify("leaks released", h.fault_rules == 0, h)
end

-- Recovery. The probe is a tool call that does real work on the kernel's
-- whole path (parameter binding, the tool's goroutine, its timeout):
-- recovery_probe, a hash_calculator registered in the shared kernel before
-- anything else runs, so it goes through every scenario's chaos. Its
-- reference is its twin, the same call on a kernel started for the
-- measurement (Kernel.new): same code, same goroutines, same machine at
-- the same moment, untouched by the chaos. Only what happened to the
-- shared kernel moves the ratio of the two.
local recovery = require("recovery")
local PROBE_TOOL = "recovery_probe"
local PROBE = {operation = "hash", input = string.rep("spellhost ", 410), algorithm = "sha256"}

local function measure(want)
  local twin = Kernel.new()
  local function check_hash(r)
    if r.hash ~= want then error("the probe's hash changed: " .. tostring(r.hash)) end
  end
  local ok, m = pcall(recovery.measure, {
    work = function() check_hash(Tool.invoke(PROBE_TOOL, PROBE)) end,
    reference = function() check_hash(twin:invoke("hash_calculator", PROBE)) end,
    windows = 30,
  })
  twin:close()
  if not ok then error(m, 0) end
  return m
end

-- The yardstick, before any scenario runs: a clean kernel.
function setup()
  Tool.register{name = PROBE_TOOL, like = "hash_calculator"}
  local hash = Tool.invoke(PROBE_TOOL, PROBE).hash
  return {baseline = measure(hash), hash = hash}
end

function recovery_check(data)
  if degrade > 0 then
    -- A recovery that did not happen, on purpose: the verdict must fail.
    Fault.enable("tool:" .. PROBE_TOOL, string.format("slow(%g%%)", degrade))
    Logger.warn("the probe's tool is kept slower on purpose", {slow_percent = degrade})
  end
  local ok, after = pcall(measure, data.hash)
  if degrade > 0 then Fault.disable("tool:" .. PROBE_TOOL) end
  if not ok then error(after, 0) end
  local v = recovery.verdict(data.baseline, after, {tolerance = tolerance})
  local info = {verdict = v.verdict, ratio = v.ratio, lower = v.lower, upper = v.upper, need = v.need,
    confidence = v.confidence, windows = v.n, probe_calls = after.calls}
  if v.verdict == "inconclusive" then
    Logger.warn("recovery: " .. v.text, info)
  else
    Logger.info("recovery: " .. v.text, info)
  end
  -- The check's name carries the figures into the summary.
  check(v, {[v.text] = function() return v.verdict ~= "degraded" end})
end

-- Everything cleared: nothing held, nothing running.
function recovery_teardown()
  local _, waited = settle(function()
    local h = Kernel.health()
    return h.status == "ok" and h.running == 0 and h.abandoned == 0 and h.fault_rules == 0 and h.goroutine_growth < 20
  end)
  local h = Kernel.health()
  verify("kernel healthy after faults", h.status == "ok" and h.running == 0 and h.abandoned == 0 and h.fault_rules == 0,
    {waited_s = waited, health = h})
  verify("goroutines back near the start", h.goroutine_growth < 20, h)
end
