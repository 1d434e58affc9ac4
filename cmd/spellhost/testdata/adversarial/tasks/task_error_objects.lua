-- adversarial: fn tasks that raise error objects whose __tostring raises or loops, and return values Go cannot convert
-- exit: 0
-- stdout: task errors contained
local function run(fn, timeout)
  return Task.wait(Task.submit{fn = fn, timeout = timeout or "5s"}, 30)
end
local st = run(function() error(setmetatable({}, {__tostring = function() error("inner boom") end})) end)
assert(st.state == "failed" and st.error.message:find("__tostring raised: .*inner boom"), st.error.message)
st = run(function() error(setmetatable({}, {__tostring = function() while true do end end})) end, "3s")
assert(st.state == "failed" and st.error.message:find("did not return within 1s"), st.state .. " " .. st.error.message)
st = run(function() return setmetatable({}, {__index = function() error("never") end}) end)
assert(st.state == "succeeded", st.state)
st = run(function() return print end)
assert(st.state == "failed" and st.error.type == "validation_error", st.state)
st = run(function() local function r() return 1 + r() end return r() end)
assert(st.state == "failed" and st.error.message:find("stack overflow"), st.error.message)
st = run(function() local function g() pcall(g) g() end g() end, "300ms")
assert(st.state == "timed_out", st.state)
assert(Task.stats().balanced)
print("task errors contained")
