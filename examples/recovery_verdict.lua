-- recovery_verdict.lua
-- Teaches: judging throughput with require("recovery"), so that a busy
-- machine does not read as a slower kernel. recovery.measure runs a piece
-- of work in short windows, block by block beside a reference (here its
-- twin: the same call on a kernel of its own, which nothing here touches);
-- recovery.verdict compares two measurements and answers recovered,
-- degraded or inconclusive, with the ratio and its 95% confidence
-- interval. The fault slow(50%) keeps a tool 50% slower than its own run
-- time: what a kernel that did not recover looks like.
--
-- run: spellhost run examples/recovery_verdict.lua
-- expect exit: 0

local recovery = require("recovery")

Tool.register{name = "probe", like = "hash_calculator"}
local params = {operation = "hash", input = string.rep("x", 4096), algorithm = "sha256"}
local twin = Kernel.new()
local opts = {
  work = function() Tool.invoke("probe", params) end,
  reference = function() twin:invoke("hash_calculator", params) end,
  windows = 20, window = "20ms",   -- the defaults: 20 windows of 25ms
}

local before = recovery.measure(opts)

-- The probe kept 50% slower: expect "degraded" (the interval's upper
-- bound below 0.90).
Fault.enable("tool:probe", "slow(50%)")
local slowed = recovery.measure(opts)
Fault.disable("tool:probe")
print("with slow(50%): " .. recovery.verdict(before, slowed).text)

-- The fault gone: expect "recovered" (the lower bound at least 0.90).
local after = recovery.measure(opts)
local v = recovery.verdict(before, after, {tolerance = 0.10, confidence = 0.95})
print("fault removed:  " .. v.text)
print(("  ratio %.3f, interval %.3f to %.3f, verdict %s"):format(v.ratio, v.lower, v.upper, v.verdict))

-- compare: one measurement's work against its own reference, right now.
-- Two paths are seldom exactly alike (here a global call against a kernel
-- handle differ by a few percent), which is why verdict judges against a
-- measurement taken before rather than against the twin alone.
print("probe vs twin:  " .. recovery.compare(after).text)
twin:close()
