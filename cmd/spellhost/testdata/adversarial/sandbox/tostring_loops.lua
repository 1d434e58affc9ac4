-- adversarial: error objects whose __tostring never returns, raised from every iteration
-- run: run --timeout=60s {{SCRIPT}}
-- exit: 0
-- stdout: script_error 2
-- stdout: (error object's __tostring did not return within 1s)
-- not: [running]
options = {scenarios = {s = {executor = "per-vu-iterations", vus = 2, iterations = 1}}}
local forever = setmetatable({}, {__tostring = function() while true do end end})
function default() error(forever) end
