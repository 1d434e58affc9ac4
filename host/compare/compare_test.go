package compare_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/host/compare"
	"spellhost/host/report/browsertest"
)

func load(t *testing.T, name string) *compare.Summary {
	t.Helper()
	s, err := compare.Load(fixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, base, new, failOn string) *compare.Result {
	t.Helper()
	var tols []compare.Tolerance
	if failOn != "" {
		var err error
		if tols, err = compare.ParseTolerances(failOn); err != nil {
			t.Fatal(err)
		}
	}
	res, err := compare.Compare(load(t, base), load(t, new), compare.Options{Tolerances: tols})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func row(t *testing.T, r *compare.Result, query, stat string) compare.Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Query == query && row.Stat == stat {
			return row
		}
	}
	t.Fatalf("no row %s %s", query, stat)
	return compare.Row{}
}

const rules = "p(95)+10%,p(99)+10%,error_rate+0.5pp,throughput-10%,checks:rate-1pp,tool_duration{tool:calculator}:med+2ms"

// A run compared with itself: nothing changed, nothing fails.
func TestCompareNoChange(t *testing.T) {
	r := run(t, "base", "base", rules)
	for _, row := range r.Rows {
		if row.Verdict == compare.Real {
			t.Errorf("%s %s: %s with no change (p %v)", row.Query, row.Stat, row.Verdict, row.P)
		}
		if row.Change != 0 && !math.IsNaN(row.Change) {
			t.Errorf("%s %s: change %v", row.Query, row.Stat, row.Change)
		}
	}
	if p95 := row(t, r, "iteration_duration", "p(95)"); p95.Verdict != compare.Noise || p95.P < 0.5 {
		t.Errorf("p(95): %+v", p95)
	}
	if r.Failed() {
		t.Errorf("no change failed: %+v", r.Checks)
	}
}

// Two runs of one system: differences are noise, tolerances pass.
func TestCompareNoiseWithinTolerance(t *testing.T) {
	r := run(t, "base", "noise", rules)
	for _, q := range []struct{ query, stat string }{
		{"iterations", "throughput"}, {"iterations", "error_rate"}, {"iteration_duration", "p(95)"},
		{"iteration_duration", "p(99)"}, {"iteration_duration", "avg"},
	} {
		if row := row(t, r, q.query, q.stat); row.Verdict != compare.Noise {
			t.Errorf("%s %s: %s (change %s, p %v)", q.query, q.stat, row.Verdict, row.ChangeText(), row.P)
		}
	}
	// At a 5% level some rows of two equal systems test as real: here the
	// checks' rate moved by 0.07 points (p 0.03), far inside its
	// tolerance, so it does not fail the comparison.
	if c := row(t, r, "checks", "rate"); c.Verdict != compare.Real || math.Abs(c.Change) > 0.001 {
		t.Errorf("checks rate: %+v", c)
	}
	if r.Failed() {
		for _, c := range r.Checks {
			t.Logf("%s: %s", c.Tolerance.Source, c.Note)
		}
		t.Error("noise failed the comparison")
	}
	if p95 := row(t, r, "iteration_duration", "p(95)"); p95.Change == 0 || p95.Lo > 0 || p95.Hi < 0 {
		t.Errorf("the interval of a noisy p(95) should hold 0 and the change should not be 0: %+v", p95)
	}
}

// A real regression: slower, more errors, fewer iterations.
func TestCompareRegression(t *testing.T) {
	r := run(t, "base", "regressed", rules)
	p95 := row(t, r, "iteration_duration", "p(95)")
	if p95.Verdict != compare.Real || p95.Rel < 0.15 || p95.Rel > 0.35 || p95.Lo <= 0 {
		t.Errorf("p(95): %+v", p95)
	}
	// The true change of the p95 (2+3L for L 10 → 12.5) is +23.4%; the
	// interval holds it.
	if lo, hi := p95.Lo/p95.Base, p95.Hi/p95.Base; lo > 0.234 || hi < 0.234 {
		t.Errorf("p(95) interval [%.3f, %.3f] misses +23.4%%", lo, hi)
	}
	tp := row(t, r, "iterations", "throughput")
	if tp.Verdict != compare.Real || math.Abs(tp.Rel+0.15) > 0.001 {
		t.Errorf("throughput: %+v", tp)
	}
	er := row(t, r, "iterations", "error_rate")
	if er.Verdict != compare.Real || er.Change < 0.015 || er.Method != "two-proportion z-test" {
		t.Errorf("error rate: %+v", er)
	}
	if avg := row(t, r, "iteration_duration", "avg"); avg.Verdict != compare.Real || avg.Method != "Welch's t-test" {
		t.Errorf("avg: %+v", avg)
	}
	if !r.Failed() {
		t.Fatal("a real regression passed")
	}
	want := map[string]bool{"p(95)+10%": true, "p(99)+10%": true, "error_rate+0.5pp": true, "throughput-10%": true,
		"checks:rate-1pp": true, "tool_duration{tool:calculator}:med+2ms": false}
	for _, c := range r.Checks {
		if c.Exceeded != want[c.Tolerance.Source] {
			t.Errorf("%s: exceeded %v (%s, amount %.3f)", c.Tolerance.Source, c.Exceeded, c.Note, c.Amount)
		}
	}
	// The same regression under looser tolerances passes: only a change
	// beyond the tolerance fails.
	if loose := run(t, "base", "regressed", "p(95)+50%,error_rate+5pp,throughput-30%"); loose.Failed() {
		t.Errorf("loose tolerances failed: %+v", loose.Checks)
	}
}

// A small run: a large observed change that is not significant does not
// fail.
func TestCompareSmallSampleIsNoise(t *testing.T) {
	r := run(t, "base", "small", "p(95)+10%,error_rate+1pp")
	p95 := row(t, r, "iteration_duration", "p(95)")
	er := row(t, r, "iterations", "error_rate")
	if er.Method != "Fisher's exact test" {
		t.Errorf("small counts: %s", er.Method)
	}
	for _, c := range r.Checks {
		if c.Beyond && c.Row.Verdict == compare.Noise && c.Exceeded {
			t.Errorf("%s exceeded within noise", c.Tolerance.Source)
		}
	}
	t.Logf("p95 %s (p %s), error rate %s (p %s)", p95.ChangeText(), p95.PText(), er.ChangeText(), er.PText())
}

func TestCompareReports(t *testing.T) {
	r := run(t, "base", "regressed", rules)
	var table, md, html bytes.Buffer
	if err := r.WriteTable(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BASE testdata/base.json", "iteration_duration", "p(95)", "real change", "✗ p(95)+10%", "more rows", "bootstrap"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| iteration_duration | p(95) |") || !strings.Contains(md.String(), "## Tolerances") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "tolerance exceeded") || !strings.Contains(html.String(), `"id":"p95"`) {
		t.Error("html lacks the verdict or the charts")
	}
	// The comparison's page draws both runs' curves in a browser.
	br := browsertest.Shared(t)
	path := filepath.Join(t.ArtifactDir(), "compare.html")
	if err := os.WriteFile(path, html.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := br.Open(t, "file://"+path)
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	charts := browsertest.Charts(t, p)
	if len(charts) != 5 {
		t.Fatalf("%d charts", len(charts))
	}
	for _, c := range charts {
		if !c.Canvas || c.Series != 2 || c.Visible != 2 {
			t.Errorf("chart %+v", c)
		}
	}
	p.Screenshot(t, filepath.Join(t.ArtifactDir(), "compare.png"))
}

func TestLoadRefusesWhatIsNotASummary(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ path, msg string }{
		{write("text.json", "hello"), "not a spellhost summary: the file is not a JSON object"},
		{write("array.json", "[1,2]"), "the file is not a JSON object"},
		{write("other.json", `{"name": "x"}`), `it has no "version" field`},
		{write("points.json", `{"type":"point","metric":"iterations"}`), `it has no "version" field`},
		{write("v0.json", `{"version": 0, "script": "s", "metrics": [], "scenarios": []}`), "version 0"},
		{write("future.json", `{"version": 3, "script": "s", "metrics": [], "scenarios": []}`), "summary version 3 is newer than this spellhost reads (1 to 2)"},
		{write("badmetric.json", `{"version": 2, "script": "s", "metrics": [{"stats": {}}], "scenarios": []}`), "metric 0 has no name or kind"},
		{write("badtype.json", `{"version": "2", "script": "s", "metrics": [], "scenarios": []}`), "not a spellhost summary"},
		{filepath.Join(dir, "missing.json"), "no such file"},
	}
	for _, c := range cases {
		_, err := compare.Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want %q", filepath.Base(c.path), err, c.msg)
		}
	}
	if _, err := compare.Load(cases[0].path); !errors.Is(err, compare.ErrNotSummary) {
		t.Errorf("not errors.Is ErrNotSummary: %v", err)
	}
}

// A version 1 summary (no histograms) compares with a version 2 one: the
// counts are tested, the percentiles shown but not tested, with a note.
func TestCompareOlderVersion(t *testing.T) {
	b, err := os.ReadFile(fixturePath("base"))
	if err != nil {
		t.Fatal(err)
	}
	v1 := strings.Replace(string(b), `"version": 2`, `"version": 1`, 1)
	for strings.Contains(v1, `"hdr": {`) {
		i := strings.Index(v1, `"hdr": {`)
		j := strings.Index(v1[i:], "}")
		v1 = v1[:i] + `"hdr_removed": {` + v1[i+len(`"hdr": {`):i+j] + v1[i+j:]
	}
	old, err := compare.Parse("old.json", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	r, err := compare.Compare(old, load(t, "regressed"), compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) < 2 || !strings.Contains(strings.Join(r.Notes, "\n"), "version 1 summary without histograms") {
		t.Errorf("notes %q", r.Notes)
	}
	p95 := row(t, r, "iteration_duration", "p(95)")
	if p95.Verdict != compare.NotTested || math.IsNaN(p95.Base) || p95.Note != "no histogram to test" {
		t.Errorf("p(95) from a version 1 summary: %+v", p95)
	}
	if tp := row(t, r, "iterations", "throughput"); tp.Verdict != compare.Real {
		t.Errorf("throughput: %+v", tp)
	}
}

func TestCompareToleranceErrors(t *testing.T) {
	base, reg := load(t, "base"), load(t, "regressed")
	for _, c := range []struct{ rule, msg string }{
		{"nope:p(95)+10%", "metric nope is in neither summary"},
		{"checks:p(95)+10%", "checks is a rate; its stat is rate"},
		{"iteration_duration:rate+1%", "is a trend"},
		{"tool_calls:p(95)+1%", "is a counter"},
		{"vus:avg+1%", "is a gauge"},
		{"tool_duration:throughput-1%", "throughput applies to iterations"},
		{"checks:rate+2ms", "ms is a time; rate is not a latency stat"},
		{"tool_calls:rate+1pp", "pp (percentage points) applies to ratios"},
	} {
		tols, err := compare.ParseTolerances(c.rule)
		if err == nil {
			_, err = compare.Compare(base, reg, compare.Options{Tolerances: tols})
		}
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want %q", c.rule, err, c.msg)
		}
	}
}
