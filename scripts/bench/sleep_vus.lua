-- 1,000 VUs that each sleep a second per iteration: the memory one VU
-- costs. make bench runs it and reads the peak RSS from the summary.
--   spellhost run --vus 1000 --duration 5s scripts/bench/sleep_vus.lua
function default()
  sleep(1)
end
