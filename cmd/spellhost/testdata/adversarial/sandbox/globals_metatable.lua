-- adversarial: a metatable on _G whose __index raises for every missing global, or loops forever, before the host looks up options, default, setup and teardown
-- exit: 0
-- stdout: scenario ran 3 iterations
-- not: internal error
-- not: [running]
local stats, print = Metrics.stats, print
function default() end
function teardown() print("scenario ran " .. stats("iterations").count .. " iterations") end
options = {scenarios = {one = {executor = "per-vu-iterations", vus = 1, iterations = 3}}}
-- the host reads globals raw: neither __index below runs for setup,
-- which is missing, nor for anything else it looks up
local loops = false
setmetatable(_G, {__index = function(t, k)
  if loops then while true do end end
  error("no global " .. tostring(k))
end})
assert(not pcall(function() return undefined_global end))
loops = true
