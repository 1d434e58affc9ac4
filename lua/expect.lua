-- expect: assertions whose failures say what was expected and what came.
--   local expect = require("expect")
--   expect.eq(r.result, 42, "sum")            -- values equal (deeply for tables)
--   expect.near(p50, 0.010, 0.0005)           -- within a tolerance
--   expect.error_type(err, "execution_error") -- an error value's type
--   expect.raises(function() Tool.invoke("nope", {}) end, "not_found")
local pretty = require("pretty")
local M = {}

local function fail(label, msg)
  error((label and (label .. ": ") or "") .. msg, 3)
end

local function deep_eq(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_eq(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Fails unless got equals want (tables compared deeply).
function M.eq(got, want, label)
  if not deep_eq(got, want) then
    fail(label, "expected " .. pretty(want) .. ", got " .. pretty(got))
  end
  return got
end

--- Fails unless |got - want| <= tolerance.
function M.near(got, want, tolerance, label)
  if type(got) ~= "number" or math.abs(got - want) > tolerance then
    fail(label, string.format("expected %s within %s, got %s", tostring(want), tostring(tolerance), tostring(got)))
  end
  return got
end

--- Fails unless v is truthy.
function M.truthy(v, label)
  if not v then fail(label, "expected a true value, got " .. pretty(v)) end
  return v
end

--- Fails unless err is a spellhost error value of the given type.
function M.error_type(err, want, label)
  if type(err) ~= "table" or err.type == nil then
    fail(label, "expected an error of type " .. want .. ", got " .. pretty(err))
  end
  if err.type ~= want then
    fail(label, "expected an error of type " .. want .. ", got " .. tostring(err.type) .. " (" .. tostring(err.message) .. ")")
  end
  return err
end

--- Calls fn and fails unless it raises; with want_type, the error value's
--- type must match. Returns the error.
function M.raises(fn, want_type, label)
  local ok, err = pcall(fn)
  if ok then fail(label, "expected an error, but the call succeeded") end
  if want_type then
    if type(err) ~= "table" or err.type ~= want_type then
      fail(label, "expected an error of type " .. want_type .. ", got " .. tostring(err))
    end
  end
  return err
end

return M
