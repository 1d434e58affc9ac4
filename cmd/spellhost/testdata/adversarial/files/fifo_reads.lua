-- adversarial: read FIFOs with no writer through every tool that reads files, and require one, 200 times each for hash_calculator and require (each would block a thread for good if opened)
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- fifo: {{ALLOWED}}/pipe
-- fifo: pipemod.lua
-- exit: 0
-- stdout: FIFO reads refused: 410

local P = "{{ALLOWED}}/pipe"
local n = 0
local function refused(tool, params)
  local r, err = Tool.try(tool, params)
  assert(r == nil, tool .. " read a FIFO")
  assert(err.type == "validation_error", tool .. ": want validation_error, got " .. tostring(err))
  assert(err.message:find("FIFO", 1, true), err.message)
  n = n + 1
end
for _ = 1, 200 do
  refused("hash_calculator", {operation = "hash", file = P})
end
refused("file_operations", {operation = "read", path = P})
refused("file_operations", {operation = "append", path = P, input = "x"})
refused("file_operations", {operation = "copy", source_path = P, target_path = "{{ALLOWED}}/copy"})
refused("file_converter", {operation = "line_endings", path = P, target_path = "{{ALLOWED}}/conv"})
refused("base64_encoder", {operation = "encode", input_file = P})
refused("file_search", {pattern = "x", path = P})
refused("image_processor", {operation = "metadata", file_path = P})
refused("audio_processor", {operation = "metadata", file_path = P})
refused("video_processor", {operation = "metadata", file_path = P})
refused("file_watcher", {operation = "config", input = P})
for _ = 1, 200 do
  local ok, err = pcall(require, "pipemod")
  assert(not ok and err.type == "validation_error" and tostring(err):find("FIFO", 1, true), "require: " .. tostring(err))
  n = n + 1
end
-- A folder holding the FIFO is listed, searched and copied without opening it.
local l = Tool.invoke("file_operations", {operation = "list_dir", path = "{{ALLOWED}}"})
assert(l.entries[1].name == "pipe" and l.entries[1].type == "other", JSON.encode(l.entries))
local s = Tool.invoke("file_search", {pattern = "x", path = "{{ALLOWED}}"})
assert(s.summary.files_scanned == 0)
print("FIFO reads refused: " .. n)
