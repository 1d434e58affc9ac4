-- env.lua
-- Teaches: passing values in, as k6 users do. -e KEY=VALUE (repeatable)
-- fills the ENV table, which needs no permission: the user typed it.
-- env(NAME) reads spellhost's own environment instead, only the variables
-- --allow-env names, and gives nil for one that is not set.
--
-- run: spellhost run -e EXPR=40+2 -e ROUNDS=3 examples/env.lua
-- expect exit: 0

local expr = ENV.EXPR or "1+1"
local rounds = tonumber(ENV.ROUNDS or "1")

options = {
  scenarios = {calc = {executor = "shared-iterations", vus = 1, iterations = rounds}},
}

function default()
  print(expr .. " = " .. Tool.invoke("calculator", {input = expr}).result)
end

function teardown()
  -- Without --allow-env=HOME, env refuses, whether HOME is set or not.
  local ok, err = pcall(env, "HOME")
  print("env(\"HOME\") without --allow-env: " .. (ok and "allowed" or err.type))
  print("ENV.MISSING is " .. tostring(ENV.MISSING))
end
