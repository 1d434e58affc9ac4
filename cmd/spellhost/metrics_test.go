package main

import (
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

// TestRunMisspeltTagFails: a threshold whose tag key no value carried
// fails (it is a rate), and the summary names the series and the tag keys
// the metric's values do carry; a counter's threshold with the same typo
// is a measured zero, evaluated, and flagged.
func TestRunMisspeltTagFails(t *testing.T) {
	p := script(t, `options = {
  scenarios = {api = {executor = "shared-iterations", iterations = 2, tags = {team = "x"}}},
  thresholds = {
    ["checks{teem:x}"] = {"rate>0.9"},
    ["iterations{teem:x}"] = {"count<10"},
    ["checks{team:x}"] = {"rate>0.9"},
  },
}
function default() check(1, {ok = function() return true end}) end`)
	code, out, errOut := run(t, "run", "--tag", "run=7", p)
	if code != exitcode.ThresholdsFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitcode.ThresholdsFailed, out, errOut)
	}
	for _, want := range []string{
		"✗ checks{teem:x}: rate>0.9  (no data)",
		"checks{teem:x} received no value: no value of checks carried the tag key teem; its values carry check, run, scenario, team",
		"✓ iterations{teem:x}: count<10  (value 0)  (no data)",
		"⚠ the tag key teem never appeared on iterations (its values carry run, scenario, team)",
		"✓ checks{team:x}: rate>0.9  (value 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "thresholds failed: checks{teem:x}: rate>0.9") {
		t.Errorf("stderr: %s", errOut)
	}
}

// TestRunTagFlag: --tag takes KEY=VALUE pairs and refuses anything else
// as a usage error.
func TestRunTagFlag(t *testing.T) {
	p := script(t, `print("ran")`)
	for _, c := range []struct{ flag, msg string }{
		{"novalue", "--tag novalue: want KEY=VALUE"},
		{"=v", "--tag =v: want KEY=VALUE"},
		{"scenario=x", "the tag scenario is set by spellhost"},
		{"a:b=c", `tag key "a:b"`},
		{"k=", `tag value ""`},
	} {
		code, _, errOut := run(t, "run", "--tag", c.flag, p)
		if code != exitcode.Usage || !strings.Contains(errOut, c.msg) {
			t.Errorf("--tag %s: exit %d, stderr %q; want %d and %q", c.flag, code, errOut, exitcode.Usage, c.msg)
		}
	}
}
