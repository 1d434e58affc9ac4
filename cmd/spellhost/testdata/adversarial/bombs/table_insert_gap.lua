-- adversarial: table.insert far past the end of a table (gigabytes of nils in one call)
-- exit: 0
-- stdout: table.insert capped
local ok, e = pcall(table.insert, {}, 6e7, "x")
assert(not ok and tostring(e):find("more than 1048576 past the end"), tostring(e))
local t = {1, 2, 3}
table.insert(t, 2, "in")
assert(table.concat(t, ",") == "1,in,2,3")
print("table.insert capped")
