options = {scenarios = {s = {executor = "constant-vus", vus = 1, duration = "30s"}}}
local n = 0
function default() n = n + 1 if n == 5 then abort("enough") end end
function teardown() print("teardown ran") end
