-- memory_leak.lua
-- Teaches: the memory sampler and the leak verdict. options.memory sets how
-- often RSS, the live heap and goroutines are sampled, and the growth that
-- warns or fails. Here a fault rule leaks 512 KB on every calculator call
-- (Fault "leak(512KB)"); Metrics.memory(t0) judges the samples taken since
-- t0 and must say "leak". Once the rule is removed the memory is released,
-- and a quiet scenario that follows runs clean, so the run passes.
-- The summary's memory block gives the run's own verdict, slope and R².
--
-- run: spellhost run examples/memory_leak.lua
-- expect exit: 0

options = {
  memory = {
    interval = "5ms",   -- sample often: this run is short
    warmUp = "0s",      -- judge from the first sample
    warn = "4MB",       -- growth that warns
    fail = "8MB",       -- growth that fails (the run's verdict, and Metrics.memory's)
  },
  scenarios = {
    leaky = {executor = "shared-iterations", vus = 1, iterations = 40, exec = "leaky",
             setup = "leak_on", teardown = "leak_off"},
    quiet = {executor = "shared-iterations", vus = 1, iterations = 40, exec = "quiet", startAfter = "leaky"},
  },
  thresholds = {
    leak_caught = {"rate==1"},
    -- The run's own verdict (first vs last samples) only fails the run
    -- through a threshold on memory_growth: the leak was released, so it passes.
    memory_growth = {"value<8MB"},
    iteration_errors = {"count==0"},
  },
}

local leak_caught = Metrics.rate("leak_caught")

function leak_on()
  collectgarbage("collect")
  Fault.enable("tool:calculator", "leak(512KB)")   -- every call now holds 512 KB more
  return {t0 = now()}                               -- the scenario's data: when the leak began
end

function leaky()
  Tool.invoke("calculator", {input = "1+1"})
  sleep("2ms")   -- let the sampler see the heap grow step by step
end

function leak_off(_, sdata)
  local v = Metrics.memory(sdata.t0)
  print(("while leaking: verdict %q, heap grew %.1f MB over %d samples"):format(v.verdict, v.heap_growth / 1e6, v.samples))
  print("  reason:", v.reason)
  leak_caught:add(v.verdict == "leak")
  Fault.reset()                -- removing the rule releases what it held...
  collectgarbage("collect")    -- ...and a collection returns it (this runs Go's GC)
end

function quiet()
  Tool.invoke("calculator", {input = "1+1"})
  sleep("2ms")
end

function teardown()
  local v = Metrics.memory()
  print(("whole run, now: live heap %.1f MB, %d goroutines"):format(v.heap_live / 1e6, v.goroutines))
end
