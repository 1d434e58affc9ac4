package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// TestRunOutJSONMidRun: --out json is readable line by line while the run
// goes on: the test reads the file mid-run (the script waits for the
// test's go-ahead file) and every line is a complete line of k6's NDJSON
// schema, a metric's Metric line before its Points. --out csv and a
// compressed --out json=FILE.gz are written by the same run.
func TestRunOutJSONMidRun(t *testing.T) {
	dir := t.TempDir()
	jsonPath, csvPath, gzPath := filepath.Join(dir, "out.json"), filepath.Join(dir, "out.csv"), filepath.Join(dir, "out.json.gz")
	goAhead := filepath.Join(dir, "go")
	p := script(t, fmt.Sprintf(`options = {
  scenarios = {s = {executor = "constant-vus", vus = 1, duration = "60s", tags = {team = "x"}}},
  thresholds = {["marker{team:x}"] = {"count>0"}},
}
local marker = Metrics.counter("marker")
function default()
  marker:add(1)
  check(1, {["alpha, beta"] = function() return true end})
  if Tool.invoke("file_operations", {operation = "exists", path = %q}).exists then abort("released") end
  sleep(0.05)
end`, goAhead))
	done := make(chan exitcode.Code, 1)
	gs, stdout, stderr := testState(t, nil)
	go func() {
		done <- Main(gs, []string{"run", "--allow-read=" + dir, "--out", "json=" + jsonPath, "--out", "csv=" + csvPath,
			"--out", "json=" + gzPath, p})
	}()
	// Read the file as the run writes it, until the marker's Points show.
	deadline := time.Now().Add(30 * time.Second) // only catches a hang
	var lines []string
	for {
		b, _ := os.ReadFile(jsonPath)
		text := string(b)
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			lines = strings.Split(text[:i], "\n")
		}
		if countPoints(lines, "marker") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no marker point in %s after 30s:\n%s", jsonPath, text)
		}
		select {
		case code := <-done:
			t.Fatalf("the run ended (%d) before the test read the file mid-run\n%s\n%s", code, stdout, stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	checkK6Lines(t, lines)
	if err := os.WriteFile(goAhead, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitcode.ScriptAborted {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	whole := strings.Split(strings.TrimSpace(read(t, jsonPath)), "\n")
	checkK6Lines(t, whole)
	if len(whole) <= len(lines) {
		t.Errorf("the file did not grow after the mid-run read: %d then %d lines", len(lines), len(whole))
	}
	f, err := os.Open(gzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || countPoints(strings.Split(string(unzipped), "\n"), "marker") != countPoints(whole, "marker") {
		t.Errorf("gzip: %v; %d marker points, json has %d", err, countPoints(strings.Split(string(unzipped), "\n"), "marker"), countPoints(whole, "marker"))
	}
	c, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := csv.NewReader(c).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "metric_name" || len(rows[0]) != 19 {
		t.Fatalf("csv: %v %q", err, rows[:min(2, len(rows))])
	}
	checks := 0
	for _, r := range rows[1:] {
		if r[0] == "checks" && r[3] == "alpha, beta" && r[11] == "s" && strings.Contains(r[17], "team=x") {
			checks++
		}
	}
	if checks == 0 {
		t.Errorf("csv: no checks row with its check, scenario and team tags")
	}
}

// countPoints counts the Point lines of metric.
func countPoints(lines []string, metric string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"Point"`) && strings.HasSuffix(l, `"metric":"`+metric+`"}`) {
			n++
		}
	}
	return n
}

// checkK6Lines checks lines against k6's NDJSON schema.
func checkK6Lines(t *testing.T, lines []string) {
	t.Helper()
	declared := map[string]bool{}
	for _, l := range lines {
		var v struct {
			Type   string          `json:"type"`
			Metric string          `json:"metric"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		switch v.Type {
		case "Metric":
			var d struct {
				Name, Type, Contains string
				Thresholds           []string
				Submetrics           []any
			}
			if err := json.Unmarshal(v.Data, &d); err != nil || d.Name != v.Metric || d.Type == "" || d.Contains == "" || d.Thresholds == nil {
				t.Fatalf("Metric line %q: %v", l, err)
			}
			if v.Metric == "marker" && (len(d.Thresholds) != 1 || d.Thresholds[0] != "count>0" || len(d.Submetrics) != 1) {
				t.Errorf("marker's Metric line: %s", l)
			}
			declared[v.Metric] = true
		case "Point":
			var d struct {
				Time  time.Time         `json:"time"`
				Value *float64          `json:"value"`
				Tags  map[string]string `json:"tags"`
			}
			if err := json.Unmarshal(v.Data, &d); err != nil || d.Time.IsZero() || d.Value == nil {
				t.Fatalf("Point line %q: %v", l, err)
			}
			if !declared[v.Metric] {
				t.Fatalf("a Point of %s before its Metric line", v.Metric)
			}
			if v.Metric == "checks" && (d.Tags["check"] != "alpha, beta" || d.Tags["team"] != "x" || d.Tags["scenario"] != "s") {
				t.Errorf("check point tags %v", d.Tags)
			}
		default:
			t.Fatalf("line type %q: %s", v.Type, l)
		}
	}
}

// TestRunHelpExitCodes: run --help lists every exit code spellhost run
// can end with, and states the unit conventions.
func TestRunHelpExitCodes(t *testing.T) {
	code, out, _ := run(t, "run", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.ThresholdsFailed,
		exitcode.SetupTimeout, exitcode.TeardownTimeout, exitcode.Timeout, exitcode.InvalidConfig, exitcode.Interrupted,
		exitcode.ScriptException, exitcode.ScriptAborted, exitcode.Panic, exitcode.MemoryLimit} {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  %-4d \S`, c)).MatchString(out) {
			t.Errorf("run --help does not list exit code %d", c)
		}
	}
	for _, want := range []string{"99   thresholds failed (abortOnFail too)", "108  the script called abort()",
		"kB/MB/GB being powers of 1,000 and KiB/MiB/GiB of 1,024", "number of seconds", "milliseconds for time"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}
