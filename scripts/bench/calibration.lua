-- Fault calibration in real time: delay(10ms) on a tool reads as a p50
-- near 10ms, and error at 20% fails about 20% of 10,000 calls.
--   spellhost run scripts/bench/calibration.lua
options = {
  scenarios = {
    delay = {executor = "shared-iterations", vus = 4, iterations = 400, exec = "delayed",
             setup = "delay_on", teardown = "delay_off"},
    errors = {executor = "shared-iterations", vus = 1, iterations = 10000, exec = "flaky", startAfter = "delay",
              setup = "errors_on", teardown = "errors_off"},
  },
  thresholds = {
    ["tool_duration{tool:uuid_generator}"] = {"med>9.5", "med<10.5"},
    ["injected_rate"] = {"rate>0.18", "rate<0.22"},
  },
}

local injected = Metrics.rate("injected_rate")

function delay_on() Fault.enable("tool:uuid_generator", "delay(10ms)") end
function delay_off() Fault.disable("tool:uuid_generator") end
function delayed() Tool.invoke("uuid_generator", {}) end

function errors_on() Fault.enable("tool:base64_encoder", "20%error(unavailable)") end
function errors_off() Fault.disable("tool:base64_encoder") end
function flaky()
  local _, err = Tool.try("base64_encoder", {operation = "encode", input = "x"})
  injected:add(err ~= nil and err.type == "injected")
end
