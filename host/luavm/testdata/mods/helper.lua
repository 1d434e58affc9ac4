-- a module required by require.lua
local M = {loads = 0}
M.loads = M.loads + 1
function M.double(x) return 2 * x end
return M
