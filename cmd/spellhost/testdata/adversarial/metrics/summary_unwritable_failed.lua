-- adversarial: the summary folder disappears in a run whose thresholds fail: the run's own code is kept and the failed write still reported
-- run: run --allow-write={{ALLOWED}} --summary-json={{ALLOWED}}/out/s.json {{SCRIPT}}
-- mkdir: {{ALLOWED}}/out
-- exit: 99
-- stderr: --summary-json {{ALLOWED}}/out/s.json:
-- stderr: thresholds failed
options = {thresholds = {checks = {"rate==1"}}}
Tool.invoke("file_operations", {operation = "delete", path = "{{ALLOWED}}/out", recursive = true})
check(false, {never = function(v) return v end})
