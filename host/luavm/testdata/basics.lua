-- sleep, now, env, ARGS, print, Logger, require
local expect = require("expect")

expect.eq(#ARGS, 2)
expect.eq(ARGS[1], "one")

local t0 = now()
sleep(0.02)
sleep("10ms")
sleep(0)
local dt = now() - t0
expect.truthy(dt >= 0.03, "slept " .. dt)
expect.truthy(now() >= t0)

expect.eq(env("SPELLHOST_TEST_NAME"), "lua")
expect.eq(env("SPELLHOST_TEST_UNSET"), nil)
local ok, e = pcall(env, "HOME")
expect.eq(ok, false)
expect.error_type(e, "permission_denied")
expect.truthy(e.message:find("--allow-env=HOME", 1, true), e.message)

local function bad(fn, pattern)
  local ok2, e2 = pcall(fn)
  expect.eq(ok2, false)
  expect.truthy(tostring(e2):find(pattern, 1, true), tostring(e2))
end
bad(function() sleep("soon") end, "sleep: bad argument #1 'duration'")
bad(function() sleep(-1) end, "not negative")
bad(function() sleep({}) end, "bad argument #1")
bad(function() env(1) end, "env: bad argument #1 'name': expected string, got number")
bad(function() now(1) end, "unexpected extra argument")
bad(function() Logger.info("x", 5) end, "bad argument #2 'fields': expected table, got number")

-- require: local modules, once per VM, shipped library, cycles and errors
local h = require("mods.helper")
expect.eq(h.double(21), 42)
expect.truthy(require("mods.helper") == h, "cached")
expect.eq(h.loads, 1)
expect.eq(type(require("pretty")), "table")
bad(function() require("mods.missing") end, 'module "mods.missing" not found')
bad(function() require("../etc/passwd") end, "is not a module name")
bad(function() require("mods.cycle_a") end, "requires itself (a cycle)")
bad(function() require("mods.broken") end, "syntax error")
bad(function() require("mods.raises") end, "module failed to load")
bad(function() require(5) end, "expected string, got number")
