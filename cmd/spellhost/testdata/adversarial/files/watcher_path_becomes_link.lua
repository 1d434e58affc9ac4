-- adversarial: watch the writable folder recursively while its subfolder w keeps being replaced (by a link inside, by a moved folder, by a try at moving a link out into its place), hoping the watcher enters the outside folder and reports what it holds
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: watched events, none outside
-- not: secret.txt

local A = "{{ALLOWED}}"
-- The watcher runs as a task while this script changes the folder.
local id = Task.submit{tool = "file_watcher", params = {operation = "watch", input = A, recursive = true,
  max_events = 40, timeout_ms = 20000}}
local refusedOut, round = 0, 0
while true do
  local st = Task.status(id)
  if st.state ~= "queued" and st.state ~= "running" then break end
  round = round + 1
  local function mv(a, b) return Tool.try("file_operations", {operation = "move", source_path = a, target_path = b}) end
  mv(A .. "/w", A .. "/w.old")
  local _, err = mv(A .. "/lnk", A .. "/w")     -- a link out into w's place: refused
  if err then refusedOut = refusedOut + 1 end
  mv(A .. "/in", A .. "/w")                      -- a link inside into w's place
  mv(A .. "/w", A .. "/in")
  mv(A .. "/w.old", A .. "/w")
  Tool.try("file_operations", {operation = "copy", source_path = A .. "/real2", target_path = A .. "/w/c" .. round, recursive = true})
  sleep("5ms")
end
local st = Task.wait(id, "30s")
assert(st.state == "succeeded", "watch: " .. JSON.encode(st.error or {}))
local res = st.result
assert(res.event_count > 0, "no events seen in " .. round .. " rounds")
for _, e in ipairs(res.events) do
  assert(e.path:sub(1, #A) == A, "event outside: " .. e.path)
  assert(not e.path:find("/lnk/", 1, true) and not e.path:find("secret", 1, true), "event through the link: " .. e.path)
end
assert(refusedOut == round, "a link out was moved into place")
-- Watching the link itself is refused.
local r, err = Tool.try("file_watcher", {operation = "config", input = A .. "/lnk", recursive = true})
assert(r == nil and err.type == "permission_denied", tostring(err))
print("watched events, none outside")
