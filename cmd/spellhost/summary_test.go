package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

// TestRunSummaryEveryMetric: the summary lists every metric, built-in
// and custom, with k6's figures (trends as --summary-trend-stats asks),
// vus and vus_max; sub-metrics a threshold names sit under their metric;
// an interrupted iteration is not a success; an arrival-rate scenario
// that dropped iterations for lack of VUs is warned about.
func TestRunSummaryEveryMetric(t *testing.T) {
	p := script(t, `options = {
  scenarios = {
    work = {executor = "shared-iterations", vus = 1, iterations = 3},
    cut = {executor = "constant-vus", vus = 1, duration = "200ms", gracefulStop = "0s", exec = "slow"},
    paced = {executor = "constant-arrival-rate", rate = 50, timeUnit = "1s", duration = "300ms",
             preAllocatedVUs = 1, maxVUs = 1, exec = "slow"},
  },
  thresholds = {["iterations{scenario:work}"] = {"count==3"}, mine_trend = {"p(99)<1000"}},
}
local c, g, r, tr = Metrics.counter("mine_count"), Metrics.gauge("mine_gauge"), Metrics.rate("mine_rate"), Metrics.trend("mine_trend", "time")
function default()
  Tool.invoke("calculator", {input = "1+1"})
  c:add(2) g:add(7) r:add(true) tr:add(12)
  check(1, {ok = function() return true end})
end
function slow() sleep(0.5) end`)
	code, out, errOut := run(t, "run", "--summary-trend-stats", "avg, p(99), count", p)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, re := range []string{
		`checks \.+: 100\.00%  ✓ 3  ✗ 0`,
		`iteration_duration \.+: avg=\S+ p\(99\)=\S+ count=\d+\n`,
		`iterations \.+: \d+  \S+/s\n      \{ scenario:work \} \.+: 3  \S+/s`,
		`mine_count \.+: 6  \S+/s`,
		`mine_gauge \.+: 7  min=7 max=7`,
		`mine_rate \.+: 100\.00%  ✓ 3  ✗ 0`,
		`mine_trend \.+: avg=12ms p\(99\)=12ms count=3`,
		`tool_calls \.+: 3  `,
		`tool_duration \.+: avg=`,
		`vus \.+: \d+  min=\d+ max=\d+`,
		`vus_max \.+: \d+  min=\d+ max=\d+`,
		`memory_rss \.+: \S+ \S+  min=`,
		`scenario cut \(constant-vus\)\n    iterations \.+ 0  \(0\.00/s over \S+\)  success 0\.00%`,
		`errors \.+ interrupted 1`,
		`⚠ dropped \d+ iterations?: its only VU \(maxVUs 1\) was busy when they were due; raise maxVUs or lower the rate`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the summary lacks /%s/", re)
		}
	}
	if strings.Contains(out, "med=") {
		t.Errorf("--summary-trend-stats without med still shows med:\n%s", out)
	}
	if t.Failed() {
		t.Logf("summary:\n%s", out)
	}

	code, _, errOut = run(t, "run", "--summary-trend-stats", "avg,p95", p)
	if code != exitcode.Usage || !strings.Contains(errOut, `--summary-trend-stats=avg,p95: "p95": want avg, min, med, max, count, sum or p(N)`) {
		t.Errorf("bad trend stat: exit %d %q", code, errOut)
	}
	code, out, _ = run(t, "run", "--no-summary", p)
	if code != 0 || strings.Contains(out, "metrics") || strings.Contains(out, "spellhost ") {
		t.Errorf("--no-summary: exit %d, stdout %q", code, out)
	}
}

// TestRunSummaryExport: --summary-export writes k6's export shape:
// figures by name under each metric, a rate's as value, thresholds as
// expression to failed, checks by name in the root group with k6's ids.
func TestRunSummaryExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.json")
	p := script(t, `options = {
  scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 4}},
  thresholds = {iteration_duration = {"p(95)<60000", "max<0"}, checks = {"rate>0.5"}},
}
function default() check(1, {["alpha, beta"] = function() return true end, odd = function() return Exec.scenario_iteration % 2 == 1 end}) end`)
	code, out, errOut := run(t, "run", "--summary-export", path, p)
	if code != exitcode.ThresholdsFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var exp struct {
		Metrics   map[string]map[string]any `json:"metrics"`
		RootGroup struct {
			Name, Path, ID string
			Groups         map[string]any
			Checks         map[string]struct {
				Name, Path, ID string
				Passes, Fails  int
			}
		} `json:"root_group"`
	}
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &exp) != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	it := exp.Metrics["iterations"]
	if it["count"] != 4.0 || it["rate"] == nil {
		t.Errorf("iterations: %v", it)
	}
	d := exp.Metrics["iteration_duration"]
	for _, k := range []string{"avg", "min", "med", "max", "p(90)", "p(95)"} {
		if _, ok := d[k].(float64); !ok {
			t.Errorf("iteration_duration lacks %s: %v", k, d)
		}
	}
	if ths, _ := d["thresholds"].(map[string]any); ths["p(95)<60000"] != false || ths["max<0"] != true {
		t.Errorf("iteration_duration thresholds (true: failed): %v", d["thresholds"])
	}
	c := exp.Metrics["checks"]
	if c["value"] != 0.75 || c["passes"] != 6.0 || c["fails"] != 2.0 || c["rate"] != nil {
		t.Errorf("checks: %v", c)
	}
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	rg := exp.RootGroup
	if rg.Path != "" || rg.ID != md5hex("") || rg.Groups == nil {
		t.Errorf("root group %+v", rg)
	}
	ab := rg.Checks["alpha, beta"]
	if ab.Name != "alpha, beta" || ab.Path != "::alpha, beta" || ab.ID != md5hex("::alpha, beta") || ab.Passes != 4 || ab.Fails != 0 {
		t.Errorf("check alpha, beta: %+v", ab)
	}
	if odd := rg.Checks["odd"]; odd.Passes != 2 || odd.Fails != 2 {
		t.Errorf("check odd: %+v", odd)
	}
}

// TestRunHandleSummary: a script's handleSummary(data) gets the summary in
// k6's shape, and what it returns is written: stdout and stderr, and
// files through the write permission (relative names against the
// script's folder); the default summary is then not printed.
func TestRunHandleSummary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.lua")
	src := `options = {
  scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 2}},
  thresholds = {iteration_duration = {"p(95)<60000"}, ["iterations{scenario:s}"] = {"count==2"}},
}
function default() check(1, {["alpha, beta"] = function() return true end}) end
function handleSummary(data)
  local it = data.metrics.iterations
  assert(it.type == "counter" and it.contains == "default" and it.values.count == 2 and it.values.rate > 0)
  local d = data.metrics.iteration_duration
  assert(d.type == "trend" and d.contains == "time" and d.values["p(95)"] and d.values.med)
  assert(d.thresholds["p(95)<60000"].ok == true)
  assert(data.metrics["iterations{scenario:s}"].values.count == 2)
  assert(data.metrics.checks.values.rate == 1 and data.metrics.checks.values.passes == 2)
  local c = data.root_group.checks[1]
  assert(c.name == "alpha, beta" and c.path == "::alpha, beta" and c.passes == 2 and c.fails == 0 and #c.id == 32)
  assert(data.root_group.name == "" and #data.root_group.groups == 0)
  assert(data.state.testRunDurationMs > 0 and data.state.isStdOutTTY == false)
  assert(data.options.summaryTrendStats[5] == "p(90)" and data.options.noColor == false)
  return {
    stdout = "custom summary: " .. it.values.count .. " iterations\n",
    stderr = "to stderr\n",
    ["out/summary.json"] = JSON.encode(data),
    ["report.txt"] = "p95 " .. d.values["p(95)"],
  }
end`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "run", "--allow-write="+dir, "-q", p)
	if code != 0 || out != "custom summary: 2 iterations\n" || errOut != "to stderr\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	var data struct {
		Metrics map[string]struct {
			Type   string
			Values map[string]float64
		}
	}
	if err := json.Unmarshal([]byte(read(t, filepath.Join(dir, "out", "summary.json"))), &data); err != nil ||
		data.Metrics["iterations"].Values["count"] != 2 {
		t.Fatalf("summary.json: %v %+v", err, data)
	}
	if !strings.HasPrefix(read(t, filepath.Join(dir, "report.txt")), "p95 ") {
		t.Fatal("report.txt")
	}

	// Without the write permission, a file is refused, named, and the
	// run fails (exit 1); stdout is still written.
	code, out, errOut = run(t, "run", "-q", p)
	if code != exitcode.Failure || !strings.Contains(out, "custom summary") ||
		!strings.Contains(errOut, "handleSummary: out/summary.json: ") || !strings.Contains(errOut, "--allow-write") {
		t.Errorf("no write permission: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}

	// --no-summary: handleSummary is not called.
	code, out, errOut = run(t, "run", "-q", "--no-summary", p)
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("--no-summary: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestRunHandleSummaryFails: a handleSummary that raises, or returns what
// is not a table of strings, is reported on stderr, and the default
// summary is printed instead; the run keeps its own exit code.
func TestRunHandleSummaryFails(t *testing.T) {
	for _, c := range []struct{ body, msg string }{
		{`error("boom")`, "s.lua:3: boom"},
		{`return 42`, "handleSummary returned number 42; want a table of outputs"},
		{`return {stdout = {}}`, `handleSummary: the output "stdout": want a string, got an empty table`},
		{`return {1, 2}`, "handleSummary returned a list"},
	} {
		p := script(t, "function default() end\nfunction handleSummary(data)\n"+c.body+"\nend")
		code, out, errOut := run(t, "run", "-q", p)
		if code != 0 || !strings.Contains(errOut, "handleSummary: ") || !strings.Contains(errOut, c.msg) ||
			!strings.Contains(errOut, "the default summary follows") || !strings.Contains(out, "scenario default") {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", c.body, code, out, errOut)
		}
	}
}

// TestRunProgressNotTerminal: with stderr not a terminal (CI), the run
// prints its execution plan as the scenarios start, then a progress line
// every --progress-interval and one at the end; -q prints neither.
func TestRunProgressNotTerminal(t *testing.T) {
	p := script(t, `options = {scenarios = {
  api = {executor = "constant-vus", vus = 2, duration = "1500ms"},
  paced = {executor = "constant-arrival-rate", rate = 20, timeUnit = "1s", duration = "1s", preAllocatedVUs = 1, maxVUs = 3, startTime = "200ms"},
  later = {executor = "shared-iterations", vus = 1, iterations = 2, startAfter = "paced"},
}}
function default() sleep(0.05) end`)
	code, _, errOut := run(t, "run", "--progress-interval", "500ms", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	wantPlan := []string{
		"spellhost run " + p + ": 3 scenarios, at most 6 VUs, at most 11m1.2s with graceful stops",
		"  * api: constant-vus, 2 VUs looping for 1.5s (gracefulStop 30s)",
		"  * later: shared-iterations, 2 iterations shared by 1 VU, at most 10m0s (gracefulStop 30s); after paced end",
		"  * paced: constant-arrival-rate, 20 iterations per 1s for 1s, 1 to 3 VUs (gracefulStop 30s); starts 200ms later",
	}
	if len(lines) < len(wantPlan)+1 || strings.Join(lines[:len(wantPlan)], "\n") != strings.Join(wantPlan, "\n") {
		t.Fatalf("plan:\n%s\nwant:\n%s", errOut, strings.Join(wantPlan, "\n"))
	}
	progress := regexp.MustCompile(`^running \(\S+\), \d+/\d+ VUs, [\d,]+ complete and \d+ interrupted iterations \([\d.,]+/s\), \d+ errors?, p95 \S+; api (\d+%|done), later (\d+%|done|waiting), paced (\d+%|done|waiting)$`)
	for _, l := range lines[len(wantPlan):] {
		if !progress.MatchString(l) {
			t.Errorf("progress line %q", l)
		}
		if strings.ContainsAny(l, "\r\033") {
			t.Errorf("terminal control in a log line: %q", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "api done, later done, paced done") {
		t.Errorf("the last line, at the end: %q", last)
	}
	code, _, errOut = run(t, "run", "-q", p)
	if code != 0 || errOut != "" {
		t.Errorf("-q: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "run", "--progress-interval", "1ms", p)
	if code != exitcode.Usage || !strings.Contains(errOut, "at least 100ms") {
		t.Errorf("--progress-interval 1ms: exit %d %q", code, errOut)
	}
}

// TestRunEnv: -e KEY=VALUE fills the ENV table, which needs no
// --allow-env; env() keeps its permission rule and returns nil for an
// allowed variable that is not set.
func TestRunEnv(t *testing.T) {
	p := script(t, `assert(ENV.TARGET == "127.0.0.1:8080", tostring(ENV.TARGET))
assert(ENV.QUERY == "a=b&c=d")
assert(ENV.EMPTY == "")
assert(ENV.MISSING == nil)
local ok, err = pcall(env, "TARGET")
assert(not ok and err.type == "permission_denied", tostring(err))
assert(env("SPELLHOST_UNSET_FOR_TEST") == nil)
print("ok")`)
	code, out, errOut := run(t, "run", "-e", "TARGET=127.0.0.1:8080", "--env", "QUERY=a=b&c=d", "-e", "EMPTY=",
		"--allow-env=SPELLHOST_UNSET_FOR_TEST", p)
	if code != 0 || out != "ok\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = run(t, "run", "-e", "NOVALUE", p)
	if code != exitcode.Usage || !strings.Contains(errOut, "--env NOVALUE: want KEY=VALUE") {
		t.Fatalf("-e NOVALUE: exit %d %q", code, errOut)
	}
}
