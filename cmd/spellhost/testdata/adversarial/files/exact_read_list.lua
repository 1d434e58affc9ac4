-- adversarial: with an explicit --allow-read list, read a file beside the script that the list does not name
-- run: run --allow-read={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: data.txt: permission_denied
-- stdout: require: 42
-- stdout: listed: listed
-- not: beside the script

-- The list is exact: the script's folder is not readable by tools...
for _, p in ipairs({"data.txt", "{{DIR}}/data.txt", "./mod.lua"}) do
  local r, err = Tool.try("file_operations", {operation = "read", path = p})
  assert(r == nil, "read " .. p .. " outside the list: " .. tostring(r and r.content))
  assert(err.type == "permission_denied", p .. ": want permission_denied, got " .. tostring(err))
  assert(err.message:find("--allow-read=", 1, true), err.message)
end
local r, err = Tool.try("file_search", {pattern = "beside", path = "."})
assert(r == nil and err.type == "permission_denied", "search of the script's folder: " .. tostring(err))
r, err = Tool.try("hash_calculator", {operation = "hash", file = "data.txt"})
assert(r == nil and err.type == "permission_denied", "hash beside the script: " .. tostring(err))
print("data.txt: " .. err.type)

-- ...but require still loads the script's own modules: they are code.
print("require: " .. require("mod").answer)

-- What the list names stays readable.
local listed = Tool.invoke("file_operations", {operation = "read", path = "{{ALLOWED}}/../allowed/listed.txt"})
print("listed: " .. listed.content)
