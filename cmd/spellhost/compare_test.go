package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

func fixtureSummary(name string) string {
	return filepath.Join("..", "..", "host", "compare", "testdata", name+".json")
}

func TestCompareCommand(t *testing.T) {
	base, noise, regressed := fixtureSummary("base"), fixtureSummary("noise"), fixtureSummary("regressed")
	rules := "p(95)+10%,error_rate+0.5pp,throughput-10%"

	code, out, errOut := run(t, "compare", "--fail-on", rules, base, noise)
	if code != 0 || !strings.Contains(out, "within noise") || !strings.Contains(out, "✓ p(95)+10%") {
		t.Errorf("noise: code %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "compare", "--fail-on", rules, base, regressed)
	if code != exitcode.ThresholdsFailed || !strings.Contains(out, "✗ p(95)+10%") ||
		!strings.Contains(errOut, "tolerances exceeded by a real change: p(95)+10%, error_rate+0.5pp, throughput-10%") {
		t.Errorf("regression: code %d\n%s\n%s", code, out, errOut)
	}
	// Without tolerances a regression is reported, not failed.
	if code, out, _ := run(t, "compare", base, regressed); code != 0 || !strings.Contains(out, "real change") {
		t.Errorf("no --fail-on: code %d\n%s", code, out)
	}
	if _, out, _ := run(t, "compare", "--all", base, noise); strings.Contains(out, "more rows") || !strings.Contains(out, "tool_duration{") {
		t.Errorf("--all hides rows:\n%s", out)
	}

	// Reports and the step summary.
	dir := t.TempDir()
	step := filepath.Join(dir, "step.md")
	gs, _, errb := testState(t, map[string]string{"GITHUB_STEP_SUMMARY": step})
	html, md := filepath.Join(dir, "c.html"), filepath.Join(dir, "c.md")
	if code := Main(gs, []string{"compare", "--report", html, base, regressed}); code != 0 {
		t.Fatalf("--report html: %d %s", code, errb.String())
	}
	if code := Main(gs, []string{"compare", "--report", md, base, regressed}); code != 0 {
		t.Fatalf("--report md: %d %s", code, errb.String())
	}
	if h := read(t, html); !strings.HasPrefix(h, "<!doctype html>") || !strings.Contains(h, `"id":"throughput"`) {
		t.Error("the HTML comparison lacks its charts")
	}
	if m := read(t, md); !strings.HasPrefix(m, "# spellhost compare") || !strings.Contains(m, "| iteration_duration | p(95) |") {
		t.Errorf("markdown:\n%s", m)
	}
	if s := read(t, step); strings.Count(s, "# spellhost compare") != 2 {
		t.Errorf("step summary:\n%s", s)
	}
}

func TestCompareCommandBadInput(t *testing.T) {
	base := fixtureSummary("base")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	points := write("points.json", `{"type":"point","metric":"iterations","count":1}`+"\n")
	future := write("future.json", `{"version": 9, "script": "s", "metrics": [], "scenarios": []}`)
	old := write("old.json", strings.Replace(read(t, base), `"version": 2`, `"version": 1`, 1))
	cases := []struct {
		args []string
		code exitcode.Code
		msg  string
	}{
		{[]string{"compare", base}, exitcode.Usage, "want two summary files"},
		{[]string{"compare", base, base, base}, exitcode.Usage, "want two summary files"},
		{[]string{"compare", "--fail-on", "p95+10%", base, base}, exitcode.Usage, `bad --fail-on rule "p95+10%"`},
		{[]string{"compare", "--fail-on", "nope:p(95)+1%", base, base}, exitcode.Usage, "metric nope is in neither summary"},
		{[]string{"compare", "--alpha", "1.5", base, base}, exitcode.Usage, "--alpha=1.5"},
		{[]string{"compare", "--seed", "0", base, base}, exitcode.Usage, "--seed=0"},
		{[]string{"compare", "--report", "/nonexistent/c.html", base, base}, exitcode.Usage, "folder /nonexistent does not exist"},
		{[]string{"compare", points, base}, exitcode.Failure, `not a spellhost summary: it has no "version" field`},
		{[]string{"compare", base, future}, exitcode.Failure, "summary version 9 is newer than this spellhost reads"},
		{[]string{"compare", base, "/nonexistent.json"}, exitcode.Failure, "no such file"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d containing %q", c.args[1:], code, errOut, c.code, c.msg)
		}
	}
	// Mismatched versions compare, with a note.
	code, out, errOut := run(t, "compare", old, base)
	if code != 0 || !strings.Contains(out, "note: the summaries have different versions (BASE 1, NEW 2)") {
		t.Errorf("versions 1 and 2: code %d\n%s\n%s", code, out, errOut)
	}
}
