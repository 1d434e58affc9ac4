-- adversarial: thousands of distinct metric names
-- run: run --summary-json={{ALLOWED}}/s.json {{SCRIPT}}
-- exit: 0
-- file: {{ALLOWED}}/s.json has "m_999"
local made = 0
for i = 0, 4999 do
  local ok, err = pcall(Metrics.counter, "m_" .. i)
  if ok then
    made = made + 1
    err:add(1)
  else
    assert(err.type == "validation_error" and err.message:find("1000 metrics of its own", 1, true), err.message)
  end
end
assert(made == 1000, "made " .. made)
-- The ones made still work.
Metrics.counter("m_0"):add(2)
assert(Metrics.stats("m_0").count == 3)
