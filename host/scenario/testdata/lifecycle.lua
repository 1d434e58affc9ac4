-- Lifecycle order and data flow: global and per-scenario setup/teardown.
options = {
  scenarios = {
    a = {executor = "per-vu-iterations", vus = 2, iterations = 3, exec = "work", setup = "setup_a", teardown = "teardown_a"},
    b = {executor = "shared-iterations", vus = 1, iterations = 2, exec = "work_b", startTime = "300ms"},
  },
}
print("init")
function setup() print("setup") return {base = 40, list = {1, 2}} end
function setup_a(data) print("setup_a " .. data.base) return {extra = 2} end
function work(data, sdata)
  assert(data.base >= 40 and #data.list == 2, "global data reached the VU")
  assert(sdata.extra == 2, "scenario data reached the VU")
  -- Each VU has its own copy: this change stays in this VU (scenario b and
  -- teardown still see 40).
  data.base = data.base + 1
  Tool.invoke("calculator", {input = "1+1"})
end
function work_b(data, sdata)
  assert(data.base == 40, "copy per VU: b sees the original")
  assert(sdata == nil, "no scenario setup for b")
end
function teardown_a(data, sdata) print("teardown_a " .. data.base .. " " .. sdata.extra) end
function teardown(data) print("teardown " .. data.base) end
