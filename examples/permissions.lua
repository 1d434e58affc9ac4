-- permissions.lua
-- Teaches: what tools may touch. Files, network, processes and the
-- environment are reached only through tools, under the --allow-* flags.
-- Without --allow-read, tools may read the script's own folder; a list
-- given with --allow-read is exact: tools read only what it names, so this
-- run lists the script's folder (examples) to keep data.txt readable, and
-- the repo's README.md. Anything else is refused with permission_denied,
-- and the message names the flag that would allow it. A relative path in
-- --allow-read means what the shell means, relative to the current
-- directory (run from the repo root), while a relative path given to a
-- tool resolves against the script's folder.
--
-- run: spellhost run --allow-read=examples,README.md examples/permissions.lua
-- expect exit: 0

local function read(path)
  return Tool.try("file_operations", {operation = "read", path = path})
end

-- 1. Allowed because the script's folder is listed: a file beside the
--    script (relative paths resolve there).
local r, err = read("data.txt")
if err then
  error("run this example from the repo root with --allow-read=examples,README.md: " .. tostring(err), 0)
end
print("data.txt:", (r.content:gsub("\n.*", "")))

-- 2. Allowed by the flag: a file outside the script's folder.
r, err = read("../README.md")
if err then
  error("run this example from the repo root with --allow-read=examples,README.md: " .. tostring(err), 0)
end
print("../README.md:", (r.content:gsub("\n.*", "")))

-- 3. Refused: outside every readable folder.
r, err = read("/etc/hostname")
assert(r == nil and err.type == "permission_denied")
print("/etc/hostname:", err.type)
print("  " .. err.message)

-- Writes follow --allow-write; by default only a scratch folder (removed at
-- exit) is writable, so writing next to the script is refused too.
r, err = Tool.try("file_operations", {operation = "write", path = "out.txt", input = "x"})
assert(err and err.type == "permission_denied")
print("write out.txt:", err.type)

-- The environment: env() reads only what --allow-env allows.
local ok, e = pcall(env, "HOME")
print("env HOME:", ok and "allowed" or e.type)
