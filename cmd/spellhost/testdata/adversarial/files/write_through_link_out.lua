-- adversarial: overwrite or append to the secret, or create files outside, by writing to links in the writable folder that lead out (every tool that writes a file)
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 0
-- stdout: writes through links refused: 12

local A = "{{ALLOWED}}"
local n = 0
local function refused(tool, params)
  local r, err = Tool.try(tool, params)
  assert(r == nil, tool .. " wrote through a link out: " .. JSON.encode(r or {}))
  assert(err.type == "permission_denied", tool .. ": " .. tostring(err))
  assert(err.message:find("--allow-write=", 1, true), err.message)
  n = n + 1
end
-- Writers write through a link: out leads to the secret, outdir to the
-- outside folder.
for _, p in ipairs({A .. "/out", A .. "/outdir/new.txt"}) do
  refused("file_operations", {operation = "write", path = p, input = "pwned"})
  refused("file_operations", {operation = "append", path = p, input = "pwned"})
  refused("file_converter", {operation = "line_endings", path = A .. "/mine.txt", target_path = p})
  refused("base64_encoder", {operation = "encode", input = "pwned", output_file = p})
end
refused("image_processor", {operation = "convert", file_path = A .. "/mine.txt", target_path = A .. "/outdir/i.png", target_format = "png"})
refused("audio_processor", {operation = "convert", file_path = A .. "/mine.txt", target_path = A .. "/outdir/a.wav"})
refused("file_operations", {operation = "copy", source_path = A .. "/mine.txt", target_path = A .. "/outdir/new.txt"})
refused("file_operations", {operation = "move", source_path = A .. "/mine.txt", target_path = A .. "/outdir/moved.txt"})
-- A copy or move onto the link itself replaces the link, as a rename does.
local c = Tool.invoke("file_operations", {operation = "copy", source_path = A .. "/mine.txt", target_path = A .. "/out"})
assert(c.target == A .. "/out")
assert(Tool.invoke("file_operations", {operation = "metadata", path = A .. "/out"}).type == "file")
print("writes through links refused: " .. n)
