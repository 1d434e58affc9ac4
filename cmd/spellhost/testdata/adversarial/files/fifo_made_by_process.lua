-- adversarial: make a FIFO in the writable folder with an allowed program (mkfifo), then have hash_calculator and file_operations read it
-- run: run --allow-write={{ALLOWED}} --allow-run=mkfifo {{SCRIPT}}
-- exit: 0
-- stdout: made a FIFO, reads refused

local P = "{{ALLOWED}}/made"
local r = Tool.invoke("process_executor", {executable = "mkfifo", arguments = {P}})
assert(r.exit_code == 0, "mkfifo failed: " .. tostring(r.stderr))
for _ = 1, 50 do
  local h, err = Tool.try("hash_calculator", {operation = "hash", file = P})
  assert(h == nil and err.type == "validation_error", tostring(err))
  local f, err2 = Tool.try("file_operations", {operation = "read", path = P})
  assert(f == nil and err2.type == "validation_error", tostring(err2))
end
-- Moving or writing over it: a move refuses it, a write replaces it.
local m, err = Tool.try("file_operations", {operation = "move", source_path = P, target_path = "{{ALLOWED}}/moved"})
assert(m == nil and err.type == "validation_error", tostring(err))
local w = Tool.invoke("file_operations", {operation = "write", path = P, input = "now a file"})
assert(Tool.invoke("file_operations", {operation = "read", path = P}).content == "now a file")
print("made a FIFO, reads refused")
