-- adversarial: the --summary-json and --report folder is removed during the run
-- run: run --allow-write={{ALLOWED}} --summary-json={{ALLOWED}}/out/s.json --report={{ALLOWED}}/out/r.md {{SCRIPT}}
-- mkdir: {{ALLOWED}}/out
-- exit: 1
-- stderr: --summary-json {{ALLOWED}}/out/s.json:
-- stderr: --report {{ALLOWED}}/out/r.md:
-- stderr: no such file or directory
Tool.invoke("file_operations", {operation = "delete", path = "{{ALLOWED}}/out", recursive = true})
