-- Errors and timeouts inside iterations are counted; the VU goes on.
options = {
  scenarios = {
    mixed = {executor = "per-vu-iterations", vus = 2, iterations = 20, exec = "mixed", timeout = "100ms"},
  },
}
local n = 0
function mixed()
  n = n + 1
  if n % 4 == 0 then error("planned failure " .. (n % 8)) end
  if n % 4 == 1 then Tool.invoke("calculator", {input = "1/0"}) end
  if n % 4 == 2 then while true do end end
end
