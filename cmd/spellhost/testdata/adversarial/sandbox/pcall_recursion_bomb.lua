-- adversarial: pcall(g) then g() recursion: every overflow restarts the recursion (once a Go stack overflow, exit 2)
-- run: run --timeout=2s {{SCRIPT}}
-- exit: 102
-- stderr: the run's --timeout of 2s fired
-- not: [running]
-- not: fatal error
local function g() pcall(g) g() end
g()
