-- lib/greet.lua: a module for require_module.lua. It is not an example
-- itself (examples_test.go skips lib/). A module is a chunk that returns
-- its table; require runs it once per VU and caches what it returned.

local M = {}

-- How many times this chunk ran in this VU: stays 1, since a second
-- require returns the cached table.
M.loads = 1

-- Locals stay private to the module.
local function capitalize(s)
  return (s:gsub("^%l", string.upper))
end

function M.hello(name)
  return "hello, " .. capitalize(name)
end

-- Modules can use the spellhost API like any script.
function M.loud_hello(name)
  local r = Tool.invoke("text_manipulator", {operation = "uppercase", input = M.hello(name)})
  return r.result .. "!"
end

return M
