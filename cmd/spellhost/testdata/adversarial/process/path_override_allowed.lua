-- adversarial: with PATH allowed, use it to swap the allowed program for one in the script's folder
-- run: run --allow-run=echo --allow-env=PATH {{SCRIPT}}
-- exit: 0
-- fake/echo beside this script is an impostor. The child gets the PATH it
-- is given, but the program is chosen in spellhost's own PATH, so the real
-- echo runs; naming the impostor by path is refused.
local r = Tool.invoke("process_executor", {executable = "echo", arguments = {"real"}, environment = {PATH = "{{DIR}}/fake"}})
assert(r.stdout == "real\n", "the impostor ran: " .. r.stdout)
for _, exe in ipairs({"./fake/echo", "{{DIR}}/fake/echo", "fake/../fake/echo"}) do
  local r2, err = Tool.try("process_executor", {executable = exe})
  assert(r2 == nil, exe .. " ran: " .. tostring(r2 and r2.stdout))
  assert(err.type == "permission_denied", exe .. ": want permission_denied, got " .. err.type .. ": " .. err.message)
end
-- Arguments are literal: "$PATH" is not expanded.
local env = Tool.invoke("process_executor", {executable = "echo", arguments = {"$PATH"}, environment = {PATH = "{{DIR}}/fake"}})
assert(env.stdout == "$PATH\n", "arguments went through a shell")
