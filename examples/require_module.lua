-- require_module.lua
-- Teaches: splitting a script into modules. require("lib.greet") loads
-- lib/greet.lua from THIS SCRIPT'S folder (dots separate folders;
-- NAME/init.lua works too), whatever the current directory is. Then it
-- looks in the library shipped with spellhost ("expect", "pretty").
-- A module runs once per VU and is cached; a module path may not leave
-- the script's folder.
--
-- run: spellhost run examples/require_module.lua
-- expect exit: 0

local greet = require("lib.greet")        -- examples/lib/greet.lua
local expect = require("expect")           -- shipped with spellhost: assertions
local pretty = require("pretty")           -- shipped with spellhost: table printing

print(greet.hello("world"))
print(greet.loud_hello("spellhost"))

-- The second require returns the same table: the module ran once.
expect.truthy(require("lib.greet") == greet, "cached")
expect.eq(greet.loads, 1, "loads")

-- Errors name what was looked for.
local ok, err = pcall(require, "lib.missing")
expect.eq(ok, false)
expect.error_type(err, "not_found")
print("missing module:", err.message)

print(pretty({module = "lib.greet", functions = {"hello", "loud_hello"}}))
