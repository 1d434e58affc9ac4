-- adversarial: timeouts of 1e-12 seconds, which rounded to zero and so meant the 30s default
-- exit: 0
-- stdout: tiny timeouts refused
local r, err = pcall(Tool.invoke, "calculator", {input = "1+1"}, {timeout = 1e-12})
assert(not r and err.type == "validation_error" and err.message:find("below the 1ms minimum"), tostring(err))
local rep = Kernel.request({id = "1", command = "invoke", name = "calculator", params = {input = "1+1"}, timeout = 1e-12})
assert(rep.status == "error" and rep.error.type == "validation_error", JSON.encode(rep))
rep = Kernel.request('{"id":"2","command":"invoke","name":"calculator","params":{"input":"1+1"},"timeout":"1ns"}')
assert(rep.status == "error" and rep.error.message:find("1ms minimum"), JSON.encode(rep))
r, err = pcall(Task.submit, {tool = "calculator", params = {input = "1"}, timeout = 1e-12})
assert(not r and err.type == "validation_error", tostring(err))
print("tiny timeouts refused")
