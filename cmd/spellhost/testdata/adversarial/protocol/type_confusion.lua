-- adversarial: every field of a request given the wrong type, duplicated or spoofed
-- exit: 0
local cases = {
  '{"id":{"x":1},"command":"list"}',                          -- id not a string
  '{"id":"a","command":["list"]}',                            -- command not a string
  '{"id":"a","command":"invoke","name":{"n":"calculator"}}',  -- name not a string
  '{"id":"a","command":"invoke","name":"calculator","params":[1,2]}', -- params not an object
  '{"id":"a","command":"invoke","name":"calculator","params":{"input":"1+1"},"timeout":true}',
  '{"id":"a","command":"invoke","name":"calculator","params":{"input":"1+1"},"timeout":"-5s"}',
  '{"id":"a","command":"invoke","name":"calculator","params":{"input":"1+1"},"timeout":"1e-12s"}',
  '{"id":"a","command":"list","command":"health"}',           -- duplicate key
  '{"id":"a","command":"li\\u0000st"}',                        -- NUL inside a command
  '{"id":"a","command":"list"} {"id":"b","command":"list"}',  -- two documents
  '{"id":"a","command":"task_wait","id2":"x"}',
  '{"id":"a","command":"task_status","task_id":12}',
  '\239\187\191{"id":"a","command":"list"}',                  -- a byte-order mark
  '{"id":"a","command":"list","category":"' .. string.rep("\255", 10) .. '"}', -- invalid UTF-8
}
for i, text in ipairs(cases) do
  local ok, r = pcall(Kernel.request, text)
  assert(ok, "case " .. i .. " raised instead of answering: " .. tostring(r))
  assert(r.status == "error", "case " .. i .. " was accepted: " .. text)
  assert(r.error.type == "validation_error" or r.error.type == "not_found",
    "case " .. i .. ": want validation_error or not_found, got " .. tostring(r.error.type))
end
print(#cases .. " malformed requests answered with error replies")
