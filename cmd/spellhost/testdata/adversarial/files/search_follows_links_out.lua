-- adversarial: find the secret's contents with file_search through links in the writable folder (a link to the file, a link to the folder, the links as the search path)
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: search skipped 2 links out

local A = "{{ALLOWED}}"
local s = Tool.invoke("file_search", {pattern = "CANARY", path = A, recursive = true})
assert(#s.matches == 0, "found: " .. JSON.encode(s.matches))
for _, p in ipairs({A .. "/out", A .. "/outdir", A .. "/outdir/secret.txt"}) do
  local r, err = Tool.try("file_search", {pattern = "CANARY", path = p})
  assert(r == nil and err.type == "permission_denied", p .. ": " .. tostring(err))
end
-- The same with a regular expression and no extension filter, case folded.
s = Tool.invoke("file_search", {pattern = "(?s).", use_regex = true, path = A, case_sensitive = false})
for _, m in ipairs(s.matches) do
  assert(m.file_path == A .. "/mine.txt", "searched " .. m.file_path)
end
print("search skipped " .. s.summary.skipped_outside .. " links out")
