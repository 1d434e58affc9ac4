-- adversarial: error objects whose __index recurses forever or chains in a loop
-- exit: 107
-- stderr: (error object is a table value)
-- not: [running]
local recursing = setmetatable({}, {})
getmetatable(recursing).__index = function(t, k) return t[k] end
local a, b = {}, {}
setmetatable(a, {__index = b})
setmetatable(b, {__index = a})
local ok, e = pcall(function() return recursing.message end)
assert(not ok and tostring(e):find("stack overflow"), tostring(e))
ok, e = pcall(function() return a.type end)
assert(not ok and tostring(e):find("too many recursions"), tostring(e))
-- the host reads error values raw: neither __index runs
local _, caught = pcall(error, recursing)
assert(caught == recursing)
error(recursing)
