-- recovery: did throughput come back after the chaos? A verdict that tells
-- a kernel that stayed slower from a machine that was busy for a moment.
--
--   local recovery = require("recovery")
--   local twin = Kernel.new()   -- a reference the chaos cannot touch
--   local opts = {work = function() Tool.invoke("hash_calculator", P) end,
--                 reference = function() twin:invoke("hash_calculator", P) end}
--   local before = recovery.measure(opts)          -- before the chaos
--   ... inject faults, clear them ...
--   local after = recovery.measure(opts)           -- after it
--   local v = recovery.verdict(before, after)      -- tolerance 10%, 95% confidence
--   print(v.text)  -- "recovered: throughput 0.99x the baseline (95% CI 0.98-1.01; needs >= 0.90; 20 and 20 windows)"
--
-- How it measures. A measurement is 20 windows of 25 ms (after one dropped
-- for warm-up). A window alternates blocks of calls to `work` and to a
-- reference, each block at least 100 µs long, the first of each pair
-- drawn from a seeded generator; a block's throughput is its calls over
-- its measured length, and the window's score is the median over its
-- pairs of work throughput / reference throughput. Two blocks a few
-- microseconds apart see the same machine: a CPU hog, another process
-- starting, a slower clock slow both alike and leave their ratio alone,
-- and a pause of the VU spoils one pair of a window's hundred, which the
-- median ignores. What lowers the work alone moves the score.
--
-- The reference. The best one is a twin of the work that what you test
-- cannot touch: the same call on a kernel started for the measurement
-- (Kernel.new), which runs the same code on the same goroutines. The
-- default, recovery.reference, is a fixed piece of Lua work that touches
-- no kernel: it tracks the machine's speed but not how the kernel's
-- goroutines are scheduled. reference = false judges raw throughput,
-- which a busy machine moves as much as a slower kernel does. Beside a
-- CPU hog on one core of two, with other work running, the windows'
-- scores spread (interquartile range over median) by 1-4% against a
-- twin, 3-22% against the default reference and 4-26% raw.
--
-- How it judges. The ratio is the Hodges-Lehmann estimate of the change
-- in score: the median, over every (before, after) pair of windows, of
-- after/before. Its confidence interval is Moses' distribution-free one,
-- from the exact null distribution of the Mann-Whitney rank-sum test
-- (order statistics of those same ratios): valid whatever the noise's
-- distribution, as long as the windows of one measurement are alike and
-- independent. With tolerance t (default 0.10):
--   recovered     the lower bound is at least 1 - t
--   degraded      the upper bound is below 1 - t: slower, with confidence
--   inconclusive  the interval holds 1 - t: more windows, or a twin as
--                 the reference, can tell
-- Each side is a one-sided claim at (1 + confidence) / 2: 97.5% for the
-- default 95%. The verdict returns the figures and the bounds, and v.text
-- says them in one line.
--
-- Judge the same work, from the same number of VUs, with the same options
-- in both measurements. The score is a median over blocks: it follows the
-- typical call, so a slow-down that strikes fewer than one call in a block
-- reads as noise; judge such tails with a latency threshold.
--
-- recovery.compare(m) judges one measurement's work against its own
-- reference instead, window by window (the sign test's interval for the
-- median ratio): "is this as fast as that, right now", for two things you
-- can run side by side. recovery.shift_ci and recovery.median_ci are the
-- statistics alone.
local M = {}

local DEFAULTS = {windows = 20, window = 0.025, block = 0.0001, warmup = 1, seed = 1, tolerance = 0.10, confidence = 0.95}

local UNITS = {ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60}

-- seconds accepts a number of seconds or a duration such as "25ms", above
-- 0 and at most max seconds.
local function seconds(v, what, max)
  local n
  if type(v) == "number" then
    n = v
  elseif type(v) == "string" then
    local num, unit = v:match("^%s*([%d%.]+)%s*(.-)%s*$")
    if tonumber(num) and UNITS[unit] then n = tonumber(num) * UNITS[unit] end
  end
  if not (n and n > 0 and n <= max) then
    error(string.format("recovery: %s: want a duration above 0 and at most %gs, such as \"25ms\" or 0.025, got %s",
      what, max, tostring(v)), 3)
  end
  return n
end

local function whole(v, what, min, max)
  if type(v) ~= "number" or v ~= math.floor(v) or v < min or v > max then
    error(string.format("recovery: %s: want a whole number from %d to %d, got %s", what, min, max, tostring(v)), 3)
  end
  return v
end

-- The most windows a measurement may keep: the exact rank test costs
-- windows^3 steps, and 100 windows of 25 ms already pin a ratio to 1%.
local MAX_WINDOWS = 100

local function fraction(v, what)
  if type(v) ~= "number" or not (v > 0 and v < 1) then
    error("recovery: " .. what .. ": want a number between 0 and 1, got " .. tostring(v), 3)
  end
  return v
end

-- A 32-bit linear congruential generator: exact in Lua's doubles, the
-- same sequence on every platform.
local function lcg(seed)
  local x = seed % 4294967296
  return function()
    x = (1664525 * x + 1013904223) % 4294967296
    return x
  end
end

--- The default reference: a fixed piece of Lua work (a small table, some
--- arithmetic, a string) that touches no kernel.
function M.reference()
  local t = {}
  for i = 1, 16 do t[i] = i * i end
  return #table.concat(t, ",")
end

local function median_of(sorted)
  local n = #sorted
  if n % 2 == 1 then return sorted[(n + 1) / 2] end
  return (sorted[n / 2] + sorted[n / 2 + 1]) / 2
end

local function median(xs)
  table.sort(xs)
  return median_of(xs)
end

-- block calls fn for at least len seconds and returns its calls per
-- second and its calls.
local function block(fn, len)
  local calls, t0 = 0, now()
  local t = t0
  repeat
    fn()
    calls = calls + 1
    t = now()
  until t - t0 >= len
  return calls / (t - t0), calls
end

-- A window holds at least this many pairs of blocks, however long its
-- calls: a median of fewer says little.
local MIN_BLOCKS = 5

-- window runs pairs of blocks, one of work and one of the reference, the
-- first of each pair drawn from rand, until len seconds have passed. It
-- returns the medians of the work blocks' throughput, of the reference
-- blocks' and of the pairs' ratios, and the work calls made.
local function window(work, ref, len, blen, rand)
  local ws, rs, ratios, calls = {}, {}, {}, 0
  local t0 = now()
  repeat
    local w, r, c
    if ref and rand() >= 2147483648 then
      r = block(ref, blen)
      w, c = block(work, blen)
    else
      w, c = block(work, blen)
      if ref then r = block(ref, blen) end
    end
    ws[#ws + 1], calls = w, calls + c
    if ref then
      rs[#rs + 1] = r
      ratios[#ratios + 1] = w / r
    end
  until now() - t0 >= len and #ws >= MIN_BLOCKS
  local wm = median(ws)
  if not ref then return wm, nil, wm, calls end
  return wm, median(rs), median(ratios), calls
end

--- Measures work's throughput in windows, each interleaved with the
--- reference block by block.
--- opts: work (a function, required); reference (a function, default
--- recovery.reference; false for the work's raw throughput); windows
--- (windows kept, 2 to 100, default 20); window (each window's length, a
--- duration such as "25ms" or seconds, at most 10 s, default 25 ms);
--- block (the least length of a block, at most 1 s, default 100 µs; a
--- call longer than that makes a block of one call); warmup (windows
--- measured first and dropped, 0 to 100, default 1); seed (draws the
--- order within each pair of blocks, default 1).
--- Returns {score = {...}, work = {ops/s...}, reference = {ops/s...} or
--- nil, window = seconds, block = seconds, calls = the work calls made}:
--- per window, the median ratio of work to reference (or the work's
--- throughput without a reference) and the median block throughputs.
function M.measure(opts)
  if type(opts) ~= "table" then error("recovery.measure: want a table of options, got " .. type(opts), 2) end
  for k in pairs(opts) do
    if k ~= "work" and k ~= "windows" and k ~= "window" and k ~= "warmup" and k ~= "seed" and k ~= "reference"
      and k ~= "block" then
      error("recovery.measure: unknown option " .. tostring(k) ..
        " (known: work, windows, window, block, warmup, seed, reference)", 2)
    end
  end
  local work = opts.work
  if type(work) ~= "function" then error("recovery.measure: work: want a function, got " .. type(work), 2) end
  local ref = opts.reference
  if ref == nil then ref = M.reference end
  if ref ~= false and type(ref) ~= "function" then
    error("recovery.measure: reference: want a function or false, got " .. type(ref), 2)
  end
  local windows = whole(opts.windows or DEFAULTS.windows, "windows", 2, MAX_WINDOWS)
  local warmup = whole(opts.warmup or DEFAULTS.warmup, "warmup", 0, MAX_WINDOWS)
  local len = seconds(opts.window or DEFAULTS.window, "window", 10)
  local blen = seconds(opts.block or DEFAULTS.block, "block", 1)
  if blen > len then error("recovery.measure: block: want at most the window's length", 2) end
  local rand = lcg(whole(opts.seed or DEFAULTS.seed, "seed", 0, 4294967295))
  local out = {work = {}, reference = ref and {} or nil, score = {}, window = len, block = blen, calls = 0}
  for i = 1 - warmup, windows do
    local w, r, sc, calls = window(work, ref, len, blen, rand)
    if i >= 1 then
      out.work[i], out.score[i] = w, sc
      if ref then out.reference[i] = r end
      out.calls = out.calls + calls
    end
  end
  return out
end

-- The exact null distribution of the Mann-Whitney statistic U for samples
-- of n and m: the coefficients of the Gaussian binomial [n+m choose n](q),
-- built as the product over i of (1 - q^(m+i)) / (1 - q^i). Returns the
-- cumulative counts (cdf[u + 1] = #{arrangements with U <= u}) and their
-- total, C(n+m, n).
local function u_cdf(n, m)
  local c = {[0] = 1}
  local deg = 0
  for i = 1, n do
    local top = deg + m
    for k = deg + 1, top do c[k] = 0 end
    -- times (1 - q^(m+i)), from the top down
    for k = top, m + i, -1 do c[k] = c[k] - c[k - m - i] end
    -- divided by (1 - q^i): a running sum with stride i
    for k = i, top do c[k] = c[k] + c[k - i] end
    deg = top
  end
  local cdf, sum = {}, 0
  for u = 0, deg do
    sum = sum + c[u]
    cdf[u + 1] = sum
  end
  return cdf, sum
end

-- binom_cdf returns P(Bin(n, 1/2) <= k).
local function binom_cdf(n, k)
  local p, term = 0, 0.5 ^ n
  for i = 0, k do
    p = p + term
    term = term * (n - i) / (i + 1)
  end
  return p
end

local function check_sample(xs, what, max)
  if type(xs) ~= "table" or #xs < 1 then
    error("recovery: " .. what .. ": want a non-empty list of numbers", 3)
  end
  if #xs > max then
    error(string.format("recovery: %s: want at most %d numbers, got %d", what, max, #xs), 3)
  end
  for i = 1, #xs do
    if type(xs[i]) ~= "number" or xs[i] ~= xs[i] then
      error(string.format("recovery: %s[%d]: want a number, got %s", what, i, tostring(xs[i])), 3)
    end
  end
end

--- The median of xs with its distribution-free confidence interval (the
--- sign test's: order statistics at ranks from Binomial(n, 1/2)). Returns
--- median, lower, upper, achieved confidence; the bounds are -inf and inf
--- when n is too small for the confidence asked.
function M.median_ci(xs, confidence)
  check_sample(xs, "xs", 1000)
  confidence = fraction(confidence or DEFAULTS.confidence, "confidence")
  local s = {}
  for i = 1, #xs do s[i] = xs[i] end
  table.sort(s)
  local n, alpha = #s, 1 - confidence
  local k = 0
  while k + 1 <= n and binom_cdf(n, k) <= alpha / 2 do k = k + 1 end
  if k == 0 then return median_of(s), -math.huge, math.huge, 1 end
  return median_of(s), s[k], s[n + 1 - k], 1 - 2 * binom_cdf(n, k - 1)
end

--- The Hodges-Lehmann estimate of how ys is shifted from xs (the median of
--- every ys[j] - xs[i]) and Moses' distribution-free confidence interval
--- for it, from the exact Mann-Whitney distribution. Returns estimate,
--- lower, upper, achieved confidence; the bounds are -inf and inf when the
--- samples are too small for the confidence asked (fewer than 4 each at
--- 95%). At most 100 values a side.
function M.shift_ci(xs, ys, confidence)
  check_sample(xs, "xs", MAX_WINDOWS)
  check_sample(ys, "ys", MAX_WINDOWS)
  confidence = fraction(confidence or DEFAULTS.confidence, "confidence")
  local n, m = #xs, #ys
  local d = {}
  for i = 1, n do
    for j = 1, m do d[#d + 1] = ys[j] - xs[i] end
  end
  table.sort(d)
  local cdf, total = u_cdf(n, m)
  local alpha = 1 - confidence
  -- k: the largest rank with P(U <= k - 1) <= alpha / 2.
  local k = 0
  while k + 1 <= #cdf and cdf[k + 1] / total <= alpha / 2 do k = k + 1 end
  local est = median_of(d)
  if k == 0 then return est, -math.huge, math.huge, 1 end
  return est, d[k], d[n * m + 1 - k], 1 - 2 * cdf[k] / total
end

local function logs(scores, what)
  check_sample(scores, what, MAX_WINDOWS)
  local out = {}
  for i, v in ipairs(scores) do
    if not (v > 0) or v == math.huge then
      error(string.format("recovery: %s[%d]: want a throughput above 0, got %s", what, i, tostring(v)), 3)
    end
    out[i] = math.log(v)
  end
  return out
end

local function scores_of(m, what)
  if type(m) == "table" and type(m.score) == "table" then return m.score end
  if type(m) == "table" then return m end
  error("recovery.verdict: " .. what .. ": want a measurement from recovery.measure or a list of throughputs, got " ..
    type(m), 3)
end

-- judge turns a log-scale estimate and interval into a verdict.
local function judge(est, lo, hi, achieved, opts, n, m, against, method)
  local v = {ratio = math.exp(est), lower = math.exp(lo), upper = math.exp(hi), need = 1 - opts.tolerance,
    tolerance = opts.tolerance, confidence = achieved, n = n, m = m, method = method}
  if v.lower >= v.need then
    v.verdict = "recovered"
  elseif v.upper < v.need then
    v.verdict = "degraded"
  else
    v.verdict = "inconclusive"
  end
  -- No commas: the text makes a good check name, and tag values end at one.
  v.text = string.format("%s: throughput %.2fx %s (%.0f%% CI %.2f-%.2f; needs >= %.2f; %s)",
    v.verdict, v.ratio, against, 100 * opts.confidence, v.lower, v.upper, v.need,
    m and string.format("%d and %d windows", n, m) or string.format("%d windows", n))
  return v
end

local function judge_opts(opts, fn)
  opts = opts or {}
  if type(opts) ~= "table" then error("recovery." .. fn .. ": opts: want a table, got " .. type(opts), 3) end
  for k in pairs(opts) do
    if k ~= "tolerance" and k ~= "confidence" then
      error("recovery." .. fn .. ": unknown option " .. tostring(k) .. " (known: tolerance, confidence)", 3)
    end
  end
  return {tolerance = fraction(opts.tolerance or DEFAULTS.tolerance, "tolerance"),
    confidence = fraction(opts.confidence or DEFAULTS.confidence, "confidence")}
end

--- Judges after against before (measurements from recovery.measure, or
--- plain lists of scores). opts: tolerance (the slow-down accepted,
--- default 0.10), confidence (default 0.95). Returns {verdict =
--- "recovered"|"degraded"|"inconclusive", ratio, lower, upper, need = 1 -
--- tolerance, confidence (the interval's exact coverage, at least the one
--- asked), tolerance, n and m (the windows), method, text}.
function M.verdict(before, after, opts)
  opts = judge_opts(opts, "verdict")
  local xs = logs(scores_of(before, "before"), "before")
  local ys = logs(scores_of(after, "after"), "after")
  local est, lo, hi, achieved = M.shift_ci(xs, ys, opts.confidence)
  return judge(est, lo, hi, achieved, opts, #xs, #ys, "the baseline",
    "Hodges-Lehmann ratio of reference-paired scores; Moses (Mann-Whitney) confidence interval")
end

--- Judges one measurement's work against its own reference, window by
--- window: the median of the windows' work/reference ratios with the sign
--- test's confidence interval. opts as for verdict; the result has the
--- same fields (m is nil).
function M.compare(m, opts)
  opts = judge_opts(opts, "compare")
  if type(m) ~= "table" or type(m.reference) ~= "table" then
    error("recovery.compare: want a measurement from recovery.measure with a reference", 2)
  end
  local xs = logs(m.score, "score")
  local est, lo, hi, achieved = M.median_ci(xs, opts.confidence)
  return judge(est, lo, hi, achieved, opts, #xs, nil, "the reference",
    "median of per-window work/reference ratios; sign-test confidence interval")
end

return M
