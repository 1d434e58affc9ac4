-- permissions.lua
-- Teaches: what tools may touch. Files, network, processes and the
-- environment are reached only through tools, under the --allow-* flags.
-- Reading is allowed by default in the script's own folder (so data.txt
-- next to this script reads fine); anything else is refused with
-- permission_denied, and the message names the flag that would allow it.
-- --allow-read adds folders or single files; a relative path there means
-- what the shell means, relative to the current directory (run from the
-- repo root, --allow-read=README.md allows the repo's README.md), while a
-- relative path given to a tool resolves against the script's folder.
--
-- run: spellhost run --allow-read=README.md examples/permissions.lua
-- expect exit: 0

local function read(path)
  return Tool.try("file_operations", {operation = "read", path = path})
end

-- 1. Allowed by default: a file in the script's folder (relative paths
--    resolve there too).
local r, err = read("data.txt")
assert(not err, tostring(err))
print("data.txt:", (r.content:gsub("\n.*", "")))

-- 2. Allowed by the flag: a file outside the script's folder.
r, err = read("../README.md")
if err then
  error("run this example from the repo root with --allow-read=README.md: " .. tostring(err), 0)
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
