-- recovery: the statistics on data whose answers are known exactly, the
-- verdicts on synthetic scores, real short measurements (their shape, not
-- their speed), and bad input.
local recovery = require("recovery")
local expect = require("expect")

-- shift_ci: xs = 1..10, ys = 100, 200, ..., 1000. The differences 100j - i
-- are all distinct, ten per j (100j - 10 to 100j - 1); at 95% the exact Mann-Whitney
-- distribution for 10 and 10 gives rank 24 (P(U <= 23) = 0.0216), so the
-- interval is [d(24), d(77)] = [293, 796] and the estimate the mean of
-- d(50) and d(51), (499 + 590) / 2.
local xs, ys = {}, {}
for i = 1, 10 do xs[i], ys[i] = i, 100 * i end
local est, lo, hi, cov = recovery.shift_ci(xs, ys, 0.95)
expect.eq(est, 544.5, "HL estimate")
expect.eq(lo, 293, "Moses lower")
expect.eq(hi, 796, "Moses upper")
expect.near(cov, 0.9567429474550218, 1e-12, "coverage 10/10")

-- A pure shift is found exactly, whatever the order.
local a, b = {3, 1, 4, 1, 5, 9, 2, 6}, {}
for i, v in ipairs(a) do b[#a + 1 - i] = v + 2.5 end
est = recovery.shift_ci(a, b, 0.95)
expect.eq(est, 2.5, "shift")

-- Coverage for other sizes (exact values of the null distribution).
expect.near(select(4, recovery.shift_ci({1, 2, 3, 4, 5}, {1, 2, 3, 4, 5, 6, 7})), 0.952020202020202, 1e-12, "5/7")
expect.near(select(4, recovery.shift_ci({1, 2, 3, 4}, {1, 2, 3, 4})), 0.9714285714285714, 1e-12, "4/4")
local big = {}
for i = 1, 30 do big[i] = i end
expect.near(select(4, recovery.shift_ci(big, big)), 0.950380000035344, 1e-9, "30/30")
-- Too few windows for 95%: an unbounded interval.
local _, l3, h3 = recovery.shift_ci({1, 2, 3}, {1, 2, 3})
expect.eq(l3, -math.huge)
expect.eq(h3, math.huge)

-- median_ci: 20 values, rank 6 at 95% (P(B <= 5) = 0.0207).
local twenty = {}
for i = 1, 20 do twenty[i] = (i * 7) % 20 + 1 end -- 1..20, shuffled
local med, mlo, mhi, mcov = recovery.median_ci(twenty, 0.95)
expect.eq({med, mlo, mhi}, {10.5, 6, 15}, "median and sign-test bounds")
expect.near(mcov, 0.9586105346679688, 1e-12, "coverage 20")
expect.eq(select(2, recovery.median_ci({1, 2, 3, 4, 5})), -math.huge, "5 values: no 95% interval")

-- verdict on synthetic scores: a fixed scatter of +-4% around 1000.
local wobble = {1.00, 1.03, 0.97, 1.01, 0.99, 1.04, 0.96, 1.02, 0.98, 1.00,
                0.97, 1.03, 1.01, 0.99, 1.02, 0.98, 1.04, 0.96, 1.00, 1.01}
local function scores(scale, spread)
  local out = {}
  for i, w in ipairs(wobble) do out[i] = 1000 * scale * (1 + (w - 1) * (spread or 1)) end
  return out
end
local same = recovery.verdict(scores(1), scores(1))
expect.eq(same.verdict, "recovered")
expect.near(same.ratio, 1, 1e-9)
expect.truthy(same.lower <= same.ratio and same.ratio <= same.upper, "ratio inside its interval")
expect.eq(same.need, 0.9)
expect.eq({same.n, same.m}, {20, 20})
expect.truthy(same.text:find("^recovered: throughput 1.00x the baseline %(95%% CI 0.9%d%-1.0%d; needs >= 0.90; 20 and 20 windows%)$"),
  same.text)
expect.truthy(not same.text:find(",", 1, true), "no commas in the text: " .. same.text)

local slower = recovery.verdict(scores(1), scores(0.95))
expect.eq(slower.verdict, "recovered", "5% slower is within the 10% tolerance")
expect.near(slower.ratio, 0.95, 1e-9)

local degraded = recovery.verdict(scores(1), scores(0.77))
expect.eq(degraded.verdict, "degraded", "30% slower tool")
expect.truthy(degraded.upper < 0.9, degraded.text)

local unsure = recovery.verdict(scores(1, 4), scores(0.9, 4))
expect.eq(unsure.verdict, "inconclusive", unsure.text)
expect.truthy(unsure.lower < 0.9 and unsure.upper >= 0.9, unsure.text)

local strict = recovery.verdict(scores(1), scores(0.95), {tolerance = 0.02, confidence = 0.99})
expect.eq(strict.verdict, "degraded", strict.text)
expect.truthy(strict.confidence >= 0.99, "coverage at least the one asked")
expect.truthy(strict.text:find("(99% CI", 1, true), strict.text)

-- compare: one measurement's own windows, work against reference.
local ratios = {}
for i, w in ipairs(wobble) do ratios[i] = 0.8 * w end
local m = {score = ratios, reference = scores(1), work = scores(0.8)}
local c = recovery.compare(m)
expect.eq(c.verdict, "degraded", c.text)
expect.near(c.ratio, 0.8, 1e-9)
expect.truthy(c.text:find("x the reference", 1, true) and c.text:find("20 windows)", 1, true), c.text)

-- Real short measurements: their shape. How fast they are is the
-- machine's business, so nothing here depends on it.
local calls = 0
local function calc()
  calls = calls + 1
  return Tool.invoke("calculator", {input = "6*7"})
end
local twin = Kernel.new()
local real = recovery.measure{work = calc, reference = function() return twin:invoke("calculator", {input = "6*7"}) end,
  windows = 3, window = "2ms", block = "200us", seed = 7}
twin:close()
expect.eq(#real.score, 3)
expect.eq(#real.work, 3)
expect.eq(#real.reference, 3)
expect.eq(real.window, 0.002)
expect.near(real.block, 0.0002, 1e-15)
expect.truthy(real.calls >= 3 * 5 and real.calls <= calls, "at least one call per block, 5 blocks per window")
for i = 1, 3 do
  expect.truthy(real.score[i] > 0 and real.work[i] > 0 and real.reference[i] > 0, "window " .. i)
end
local rv = recovery.compare(real)
expect.truthy(rv.lower <= rv.ratio and rv.ratio <= rv.upper, rv.text)
expect.eq(rv.verdict, "inconclusive", "3 windows cannot support a 95% interval")
local raw = recovery.measure{work = calc, reference = false, windows = 2, window = 0.001}
expect.eq(raw.reference, nil)
expect.eq(raw.score, raw.work, "without a reference the score is the throughput")
local v2 = recovery.verdict(real, raw)
expect.eq({v2.n, v2.m}, {3, 2})
local plain = recovery.measure{work = calc, windows = 2, window = "1ms"}
expect.eq(#plain.reference, 2, "the default reference")
expect.truthy(recovery.reference() > 0)

-- A work function that fails stops the measurement with its error.
local ok, err = pcall(recovery.measure, {work = function() Tool.invoke("calculator", {input = "1/0"}) end, windows = 2})
expect.eq(ok, false)
expect.error_type(err, "execution_error")

-- Bad input says what is wrong.
local hundred_and_one = {}
for i = 1, 101 do hundred_and_one[i] = i end
local bad = {
  {function() recovery.measure() end, "want a table of options"},
  {function() recovery.measure{} end, "work: want a function"},
  {function() recovery.measure{work = calc, windows = 1} end, "windows: want a whole number from 2 to 100"},
  {function() recovery.measure{work = calc, windows = 101} end, "windows: want a whole number from 2 to 100, got 101"},
  {function() recovery.measure{work = calc, windows = 2.5} end, "windows: want a whole number"},
  {function() recovery.measure{work = calc, window = "soon"} end, "window: want a duration above 0"},
  {function() recovery.measure{work = calc, window = "-5ms"} end, "window: want a duration above 0"},
  {function() recovery.measure{work = calc, window = "1h"} end, "window: want a duration above 0 and at most 10s"},
  {function() recovery.measure{work = calc, block = 0} end, "block: want a duration above 0 and at most 1s"},
  {function() recovery.measure{work = calc, window = "1ms", block = "2ms"} end, "block: want at most the window"},
  {function() recovery.measure{work = calc, reference = 5} end, "reference: want a function or false"},
  {function() recovery.measure{work = calc, windwos = 3} end, "unknown option windwos"},
  {function() recovery.verdict({}, {1}) end, "before: want a non-empty list"},
  {function() recovery.verdict({1, "x"}, {1}) end, "before[2]: want a number"},
  {function() recovery.verdict({1, -2}, {1}) end, "before[2]: want a throughput above 0"},
  {function() recovery.verdict({1}, {0 / 0}) end, "after[1]: want a number"},
  {function() recovery.verdict(5, {1}) end, "before: want a measurement"},
  {function() recovery.verdict({1}, {1}, {tolerance = 1.5}) end, "tolerance: want a number between 0 and 1"},
  {function() recovery.verdict({1}, {1}, {confidence = 0}) end, "confidence: want a number between 0 and 1"},
  {function() recovery.verdict({1}, {1}, {tolerence = 0.1}) end, "unknown option tolerence"},
  {function() recovery.compare({score = {1}}) end, "with a reference"},
  {function() recovery.median_ci({}) end, "xs: want a non-empty list"},
  {function() recovery.shift_ci(big, hundred_and_one) end, "ys: want at most 100 numbers, got 101"},
}
for i, case in ipairs(bad) do
  local ok2, e = pcall(case[1])
  expect.eq(ok2, false, "bad input " .. i)
  expect.truthy(tostring(e):find(case[2], 1, true), "bad input " .. i .. ": " .. tostring(e))
end
