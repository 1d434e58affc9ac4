-- adversarial: handleSummary writes files outside the write permission
-- run: run --allow-write={{ALLOWED}} {{SCRIPT}}
-- exit: 1
-- stdout: the summary went to stdout
-- stderr: handleSummary: ../../planted.txt: write
-- stderr: handleSummary: {{SECRET}}: write
-- stderr: handleSummary: {{OUTSIDE}}/planted.txt: write
-- stderr: handleSummary: {{ALLOWED}}/../planted.txt: write
-- stderr: outside the writable folders; allow it with --allow-write
-- file: {{ALLOWED}}/ok.txt has fine
-- Each file handleSummary returns goes through the write permission: a
-- relative escape, an absolute path outside, the secret itself and a ..
-- out of the allowed folder are refused and named; the allowed file and
-- stdout are still written, and the run fails with exit 1.
function default() end
function handleSummary(data)
  return {
    stdout = "the summary went to stdout\n",
    ["../../planted.txt"] = "x",
    ["{{SECRET}}"] = "overwritten",
    ["{{OUTSIDE}}/planted.txt"] = "x",
    ["{{ALLOWED}}/../planted.txt"] = "x",
    ["{{ALLOWED}}/ok.txt"] = "fine",
  }
end
