-- adversarial: handleSummary writes through a link that leads out of the allowed folder
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 1
-- stderr: handleSummary: {{ALLOWED}}/out/planted.txt: write
-- stderr: handleSummary: {{ALLOWED}}/out/secret.txt: write
-- {{ALLOWED}}/out is a link to {{OUTSIDE}}: a file written through it is
-- refused, new or existing (the secret).
function default() end
function handleSummary(data)
  return {["{{ALLOWED}}/out/planted.txt"] = "x", ["{{ALLOWED}}/out/secret.txt"] = "overwritten"}
end
