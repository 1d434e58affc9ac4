-- adversarial: a comparator that answers at random, and one that says everything is less
-- exit: 0
-- stdout: permutation kept
math.randomseed(7)
for _, cmp in ipairs({
  function() return math.random() < 0.5 end,
  function() return true end,
  function(a, b) return a <= b end,
}) do
  local t = {}
  for i = 1, 2000 do t[i] = i end
  local ok, e = pcall(table.sort, t, cmp)
  assert(ok or type(e) == "string", tostring(e))
  local seen = {}
  for _, v in ipairs(t) do
    assert(not seen[v], "value " .. v .. " twice")
    seen[v] = true
  end
  assert(#t == 2000, "the table lost values: " .. #t)
end
print("permutation kept")
