-- adversarial: the check-then-open race: VUs swap a folder and a link with file_operations move while a forger tries to copy or move links out where the others look (kit/up leads to the fixture's root, lnk to outside, deep/a/rel to the secret once moved up) and other VUs read, hash, list, search and write through them for 5 s
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: swaps done:
-- stdout: forged links: 0
-- stdout: leaks: 0
-- stdout: escapes: 0

local A = "{{ALLOWED}}"

local swaps = Metrics.counter("swaps")
local refused = Metrics.counter("refused")
local forged = Metrics.counter("forged")
local leaks = Metrics.counter("leaks")
local escapes = Metrics.counter("escapes")

options = {
  scenarios = {
    swap  = {executor = "constant-vus", vus = 2, duration = "5s", exec = "swap"},
    forge = {executor = "constant-vus", vus = 1, duration = "5s", exec = "forge"},
    read  = {executor = "constant-vus", vus = 3, duration = "5s", exec = "read"},
    write = {executor = "constant-vus", vus = 2, duration = "5s", exec = "write"},
  },
  thresholds = {iteration_errors = {"count==0"}},
}

local function try(tool, params)
  local r, err = Tool.try(tool, params)
  if err then refused:add(1) end
  return r, err
end

-- The harmless contents; anything else read is printed, so a leak shows.
local known = {["inside w\n"] = true, ["inside real2\n"] = true, ["decoy\n"] = true, ["kit readme\n"] = true}
local function saw(what, text)
  if text == nil then return end
  if text:find("CANARY", 1, true) then leaks:add(1) end
  if not known[text] and not text:find("^written by vu") then print(what .. ": " .. text) end
end

-- Swappers flip w between a real folder and a link that stays inside.
function swap()
  local tmp = A .. "/w.tmp" .. Exec.vu
  for _, m in ipairs({{A .. "/w", tmp}, {A .. "/in", A .. "/w"}, {A .. "/w", A .. "/in"}, {tmp, A .. "/w"}}) do
    local r = try("file_operations", {operation = "move", source_path = m[1], target_path = m[2]})
    if r then swaps:add(1) end
  end
end

-- The forger tries every way to put a link out where the others look.
function forge()
  -- Each would leave a link leading out of the allowed folder: every one
  -- is refused, whatever the swappers have done meanwhile.
  local attempts = {
    {operation = "copy", source_path = "{{DIR}}/kit", target_path = A .. "/w", recursive = true},
    {operation = "copy", source_path = "{{DIR}}/kit", target_path = A .. "/kit", recursive = true},
    {operation = "copy", source_path = "{{DIR}}/kit/up", target_path = A .. "/up", recursive = true},
    {operation = "move", source_path = A .. "/lnk", target_path = A .. "/w"},
    {operation = "move", source_path = A .. "/lnk", target_path = A .. "/lnk2"},
    {operation = "move", source_path = A .. "/deep/a/rel", target_path = A .. "/rel"},
    {operation = "move", source_path = A .. "/deep/a/rel", target_path = A .. "/w/../rel"},
  }
  for _, p in ipairs(attempts) do
    local r, err = try("file_operations", p)
    if r then
      forged:add(1)
      print("forged: " .. p.operation .. " " .. p.source_path .. " -> " .. p.target_path)
    else
      assert(err.type == "permission_denied" or err.type == "validation_error" or err.type == "execution_error",
        "unexpected " .. tostring(err))
    end
  end
end

local reads = {
  "kit/up/outside/secret.txt", "{{DIR}}/kit/up/outside/secret.txt", A .. "/lnk/secret.txt",
  A .. "/w/x.txt", A .. "/w/../lnk/secret.txt", A .. "/deep/a/rel", A .. "/rel", A .. "/a/rel",
  A .. "/kit/up/outside/secret.txt", A .. "/w/up/outside/secret.txt", A .. "/up/outside/secret.txt",
  A .. "/deep2/x/y/a/rel",
}

function read()
  for _, p in ipairs(reads) do
    local r = try("file_operations", {operation = "read", path = p})
    saw("read " .. p, r and r.content)
    local h = try("hash_calculator", {operation = "hash", file = p})
    if h then saw("hash " .. p, nil) end
  end
  local l = try("file_operations", {operation = "list_dir", path = A, recursive = true})
  if l then
    for _, e in ipairs(l.entries) do
      if e.name:find("^lnk/") or e.name:find("/up/") then print("listed through a link: " .. e.name) end
    end
  end
  local s = try("file_search", {pattern = "CANARY", path = A})
  if s then
    for _, m in ipairs(s.matches) do leaks:add(1); print("found: " .. m.file_path .. ": " .. m.line) end
  end
  s = try("file_search", {pattern = "CANARY", path = "kit"})
  if s then
    for _, m in ipairs(s.matches) do leaks:add(1); print("found: " .. m.file_path .. ": " .. m.line) end
  end
end

local targets = {
  A .. "/lnk/pwned.txt", "kit/up/outside/pwned.txt", A .. "/w/up/pwned.txt", A .. "/rel",
  A .. "/a/rel", A .. "/w/x.txt", A .. "/w/new.txt",
}

function write()
  for _, p in ipairs(targets) do
    for _, op in ipairs({"write", "append"}) do
      local r = try("file_operations", {operation = op, path = p, input = "written by vu " .. Exec.vu .. "\n"})
      if r and r.path:sub(1, #A + 1) ~= A .. "/" then
        escapes:add(1)
        print("wrote outside: " .. r.path)
      end
    end
    local c = try("file_operations", {operation = "copy", source_path = A .. "/real2/x.txt", target_path = p})
    if c and c.target:sub(1, #A + 1) ~= A .. "/" then
      escapes:add(1)
      print("copied outside: " .. c.target)
    end
  end
end

function teardown()
  local function n(name) return Metrics.stats(name).count or 0 end
  print("swaps done: " .. n("swaps") .. ", calls refused: " .. n("refused"))
  print("forged links: " .. n("forged"))
  print("leaks: " .. n("leaks"))
  print("escapes: " .. n("escapes"))
  assert(n("swaps") > 0, "no swap happened: the race was not run")
  assert(n("refused") > 0, "nothing was refused")
end
