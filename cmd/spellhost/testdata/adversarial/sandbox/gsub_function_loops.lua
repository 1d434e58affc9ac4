-- adversarial: string.gsub with a replacement function that never returns, in an iteration with a timeout
-- exit: 0
-- stdout: iteration timeouts 2
options = {scenarios = {s = {executor = "shared-iterations", vus = 2, iterations = 2, timeout = "300ms"}}}
function default()
  return (string.rep("ab", 1000)):gsub("%w", function() while true do end end)
end
