-- script_args.lua
-- Teaches: passing arguments to a script. Whatever follows "--" on the
-- command line reaches the script as the table ARGS (strings; convert
-- with tonumber). Flags before the script path are spellhost's own;
-- after "--" everything is the script's, even words starting with "-".
-- Defaults make the script runnable without arguments too.
--
-- run: spellhost run examples/script_args.lua -- a b
-- expect exit: 0

print("ARGS has " .. #ARGS .. " entries")
for i, a in ipairs(ARGS) do
  print(("  ARGS[%d] = %q"):format(i, a))
end

-- A common pattern: positional arguments with defaults, as in
-- scripts/stress.lua (a size scale and a VU count).
local first = ARGS[1] or "x"
local second = ARGS[2] or "y"
local count = tonumber(ARGS[3] or "3")
assert(count and count >= 1, "the third argument is a count, a number from 1")

local r = Tool.invoke("text_manipulator", {operation = "uppercase", input = first .. second})
print(("joined and uppercased: %s, repeated %d times: %s"):format(r.result, count, r.result:rep(count)))
