-- adversarial: raise an error object whose __tostring raises, from the top level
-- exit: 107
-- stderr: error object's __tostring raised: 
-- stderr: boom from __tostring
-- not: [running]
-- not: panic:
local evil = setmetatable({}, {__tostring = function() error("boom from __tostring") end})
-- Lua code that renders it meets an ordinary error.
local ok, e = pcall(tostring, evil)
assert(not ok and tostring(e):find("boom from __tostring"), tostring(e))
ok, e = pcall(print, evil)
assert(not ok and tostring(e):find("boom from __tostring"), tostring(e))
-- Escaping the script, the host renders it without dying.
error(evil)
