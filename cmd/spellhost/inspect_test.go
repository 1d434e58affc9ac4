package main

import (
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"spellhost/host/exitcode"
)

func TestInspect(t *testing.T) {
	p := script(t, `
options = {
  scenarios = {a = {executor = "constant-arrival-rate", rate = 10, duration = "2s", preAllocatedVUs = 2, exec = "f"}},
  thresholds = {["tool_duration{tool:calculator}"] = {"p(95)<5", {threshold = "max<50", abortOnFail = true}}},
  tasks = {workers = 8},
}
print("the top level runs")
function f() end`)
	code, out, errOut := run(t, "inspect", p)
	if code != 0 {
		t.Fatalf("inspect: %d %q", code, errOut)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("inspect output is not JSON: %v\n%s", err, out)
	}
	a := d["scenarios"].(map[string]any)["a"].(map[string]any)
	if a["executor"] != "constant-arrival-rate" || a["timeUnit"] != "1s" || a["gracefulStop"] != "30s" || a["duration"] != "2s" {
		t.Fatalf("scenario defaults: %v", a)
	}
	ths := d["thresholds"].([]any)
	if len(ths) != 2 || ths[0].(map[string]any)["percentile"] != 95.0 || ths[1].(map[string]any)["abortOnFail"] != true {
		t.Fatalf("thresholds: %v", ths)
	}
	tk := d["tasks"].(map[string]any)
	if tk["workers"] != 8.0 || tk["queue"] != 10000.0 {
		t.Fatalf("tasks: %v", tk)
	}
	if !strings.Contains(errOut, "the top level runs") {
		t.Fatalf("the script's prints should go to stderr, got %q", errOut)
	}
	// --vus and --duration show their effect.
	code, out, _ = run(t, "inspect", "--vus", "3", "--duration", "5s", script(t, "function default() end"))
	if code != 0 || !strings.Contains(out, `"executor": "constant-vus"`) || !strings.Contains(out, `"vus": 3`) {
		t.Fatalf("inspect with --vus: %d %s", code, out)
	}
	for _, c := range []struct {
		src  string
		code exitcode.Code
		msg  string
	}{
		{`options = {scenarios = {a = {executor = "warp"}}}`, exitcode.InvalidConfig, `unknown executor "warp"`},
		{`options = {thresholds = {iterations = {"p(95)<<3"}}}`, exitcode.InvalidConfig, "p(95)<<3"},
		{"options = {\n", exitcode.ScriptException, "syntax error"},
		{`error("boom")`, exitcode.ScriptException, "boom"},
	} {
		code, _, errOut := run(t, "inspect", script(t, c.src))
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%q: %d %q, want %d with %q", c.src, code, errOut, c.code, c.msg)
		}
	}
	if code, _, _ := run(t, "inspect"); code != exitcode.Usage {
		t.Fatal("inspect without a script")
	}
	if code, _, _ := run(t, "inspect", "/no/such.lua"); code != exitcode.InvalidConfig {
		t.Fatal("inspect of a missing file")
	}
}
