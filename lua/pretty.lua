-- pretty: render any Lua value as readable text, tables sorted by key.
--   local pretty = require("pretty")
--   print(pretty(Tool.get("calculator")))
--   print(pretty(value, {indent = "  ", depth = 3}))
local M = {}

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function render(v, opts, level, seen, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t ~= "table" then
    out[#out + 1] = tostring(v)
  elseif seen[v] then
    out[#out + 1] = "<cycle>"
  elseif level >= opts.depth then
    out[#out + 1] = "{...}"
  else
    seen[v] = true
    local keys = sorted_keys(v)
    if #keys == 0 then
      out[#out + 1] = "{}"
    else
      local pad = string.rep(opts.indent, level + 1)
      local n = #v
      out[#out + 1] = "{\n"
      for _, k in ipairs(keys) do
        out[#out + 1] = pad
        if type(k) == "number" and k >= 1 and k <= n and k == math.floor(k) then
          -- sequence items are written without keys
        elseif is_ident(k) then
          out[#out + 1] = k .. " = "
        else
          out[#out + 1] = "["
          render(k, opts, level + 1, seen, out)
          out[#out + 1] = "] = "
        end
        render(v[k], opts, level + 1, seen, out)
        out[#out + 1] = ",\n"
      end
      out[#out + 1] = string.rep(opts.indent, level) .. "}"
    end
    seen[v] = nil
  end
end

--- Returns v rendered as text. opts.indent (default two spaces) and
--- opts.depth (default 8) control the layout.
function M.format(v, opts)
  opts = opts or {}
  local o = {indent = opts.indent or "  ", depth = opts.depth or 8}
  local out = {}
  render(v, o, 0, {}, out)
  return table.concat(out)
end

return setmetatable(M, {__call = function(_, v, opts) return M.format(v, opts) end})
