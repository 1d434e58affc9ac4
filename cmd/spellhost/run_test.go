package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"spellhost/host/exitcode"
	"spellhost/internal/procmem"
)

// script writes a Lua script into a temporary folder and returns its path.
func script(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunTopToBottom(t *testing.T) {
	p := script(t, `print("args", #ARGS, ARGS[1], ARGS[2])
print(Tool.invoke("calculator", {input = "6*7"}).result)`)
	code, out, errOut := run(t, "run", p, "--", "a", "--flag")
	if code != 0 || out != "args\t2\ta\t--flag\n42\n" {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
}

func TestRunScriptErrors(t *testing.T) {
	code, _, errOut := run(t, "run", script(t, "local x = \nprint(1"))
	if code != exitcode.ScriptException || !strings.Contains(errOut, "s.lua:2: syntax error") {
		t.Fatalf("syntax: %d %q", code, errOut)
	}
	code, _, errOut = run(t, "run", script(t, "local function f()\n  error('boom')\nend\nf()\n"))
	if code != exitcode.ScriptException || !strings.Contains(errOut, "s.lua:2: boom") ||
		!strings.Contains(errOut, "stack traceback:") || !strings.Contains(errOut, "s.lua:4: in main chunk") {
		t.Fatalf("runtime: %d %q", code, errOut)
	}
	code, _, errOut = run(t, "run", script(t, `Tool.invoke("calculator", {input = "1/0"})`))
	if code != exitcode.ScriptException || !strings.Contains(errOut, "execution_error: tool calculator: division by zero") {
		t.Fatalf("tool error: %d %q", code, errOut)
	}
}

// TestRunInvalidOptions: a run whose options are invalid prints every
// problem on stderr at once, no summary, writes no summary file, and
// exits 104.
func TestRunInvalidOptions(t *testing.T) {
	p := script(t, `function work() end
options = {
  scenarios = {calc = {executor = "constant-vus", vu = 4, vus = "4", duration = "5s", exec = work}},
  thresold = {iterations = "count>0"},
}`)
	summary := filepath.Join(t.TempDir(), "summary.json")
	code, out, errOut := run(t, "run", "--summary-json", summary, p)
	want := `spellhost run: invalid options:
  options.scenarios.calc.exec: want a string, got a function
  options.scenarios.calc.vu: unknown field; did you mean "vus"?
  options.scenarios.calc.vus: want a whole number from 0, got string "4"
  options.thresold: unknown field; did you mean "thresholds"?
`
	if code != exitcode.InvalidConfig || out != "" || errOut != want {
		t.Fatalf("exit %d\nstdout %q\nstderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
	if _, err := os.Stat(summary); !os.IsNotExist(err) {
		t.Fatalf("a summary file was written for a run that never started: %v", err)
	}
}

func TestRunTimeout(t *testing.T) {
	code, _, errOut := run(t, "run", "--timeout", "300ms", script(t, "local n = 0\nwhile true do n = n + 1 end"))
	if code != exitcode.Timeout || !strings.Contains(errOut, "the run's --timeout of 300ms fired") ||
		!strings.Contains(errOut, "s.lua:2: in main chunk") {
		t.Fatalf("timeout: %d %q", code, errOut)
	}
}

func TestRunMemoryLimit(t *testing.T) {
	limit := procmem.RSS() + 150<<20
	src := `local t = {}
for i = 1, 1e7 do t[i] = string.rep("x", 65536) .. i end`
	code, _, errOut := run(t, "run", "--max-memory", fmt.Sprint(limit), "--timeout", "60s", script(t, src))
	if code != exitcode.MemoryLimit || !strings.Contains(errOut, "exceeds --max-memory=") {
		t.Fatalf("memory: %d %q", code, errOut)
	}
}

func TestRunInterrupted(t *testing.T) {
	gs, _, errb := testState(t, nil)
	gs.notify = func(c chan<- os.Signal) {
		go func() { time.Sleep(200 * time.Millisecond); c <- os.Interrupt }()
	}
	code := Main(gs, []string{"run", script(t, "sleep(30)")})
	if code != exitcode.Interrupted || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("interrupt: %d %q", code, errb.String())
	}
}

func TestRunBadInput(t *testing.T) {
	ok := script(t, "print(1)")
	cases := []struct {
		args []string
		code exitcode.Code
		msg  string
	}{
		{[]string{"run"}, exitcode.Usage, "missing the script to run"},
		{[]string{"run", ok, "extra"}, exitcode.Usage, "one script at a time"},
		{[]string{"run", "/nonexistent/x.lua"}, exitcode.InvalidConfig, "script /nonexistent/x.lua: no such file"},
		{[]string{"run", filepath.Dir(ok)}, exitcode.InvalidConfig, "is a folder"},
		{[]string{"run", "--timeout", "soon", ok}, exitcode.Usage, "--timeout=soon"},
		{[]string{"run", "--tool-timeout", "0", ok}, exitcode.Usage, "--tool-timeout=0"},
		{[]string{"run", "--max-memory", "lots", ok}, exitcode.Usage, "--max-memory=lots"},
		{[]string{"run", "--max-string-size", "0", ok}, exitcode.Usage, "--max-string-size=0"},
		{[]string{"run", "--max-request-size", "x", ok}, exitcode.Usage, "--max-request-size=x"},
		{[]string{"run", "--log-level", "loud", ok}, exitcode.Usage, "--log-level=loud"},
		{[]string{"run", "--seed", "-1", ok}, exitcode.Usage, "invalid argument"},
		{[]string{"run", "--allow-net=http://x/", ok}, exitcode.Usage, "--allow-net=http://x/"},
		{[]string{"run", "--bogus", ok}, exitcode.Usage, "unknown flag: --bogus"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d containing %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

func TestRunEnvPermission(t *testing.T) {
	gs, out, errb := testState(t, map[string]string{"TARGET": "here", "SECRET": "x"})
	p := script(t, `print(env("TARGET")) print(pcall(env, "SECRET"))`)
	if code := Main(gs, []string{"run", "--allow-env=TARGET", p}); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "here\nfalse\tpermission_denied: environment variable SECRET") {
		t.Fatalf("out %q", out.String())
	}
}

func TestRunFaultFlagAndEnv(t *testing.T) {
	p := script(t, `
options = {scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 100}},
  thresholds = {["tool_calls{outcome:injected}"] = {"count>=1"}}}
function default()
  local _, err = Tool.try("calculator", {input = "1+1"})
  if err and err.type ~= "injected" then error("a real failure: " .. tostring(err)) end
end`)
	code, out, errOut := run(t, "run", "--seed", "9", "--fault", "tool:calculator=50%error(unavailable)", p)
	if code != 0 || !strings.Contains(out, "faults (seed 9") || !strings.Contains(out, "tool:calculator=50%error(unavailable)") {
		t.Fatalf("--fault: %d %q %q", code, out, errOut)
	}
	// The same seed repeats the same hits.
	hits := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "hits /") {
				return l
			}
		}
		return ""
	}
	_, again, _ := run(t, "run", "--seed", "9", "--fault", "tool:calculator=50%error(unavailable)", p)
	if hits(out) == "" || hits(out) != hits(again) {
		t.Fatalf("same seed, different hits: %q vs %q", hits(out), hits(again))
	}

	gs, stdout, _ := testState(t, map[string]string{"SPELLHOST_FAULTS": "tool:calculator=down tool:hash*=off"})
	if code := Main(gs, []string{"run", p}); code != 0 || !strings.Contains(stdout.String(), "tool:calculator=down") ||
		!strings.Contains(stdout.String(), "100 hits / 100 calls") {
		t.Fatalf("SPELLHOST_FAULTS: %d %q", code, stdout.String())
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--fault", "tool:calculator"}, "want TARGET=TERMS"},
		{[]string{"--fault", "tool:x=explode"}, `unknown kind "explode"`},
		{[]string{"--fault", "disk:x=error"}, "unknown boundary"},
		{[]string{"--fault", "tool:x=delay(3h)"}, "duration"},
	} {
		code, _, errOut := run(t, append(append([]string{"run"}, c.args...), p)...)
		if code != exitcode.Usage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
	gs, _, errb := testState(t, map[string]string{"SPELLHOST_FAULTS": "tool:x=nope"})
	if code := Main(gs, []string{"run", p}); code != exitcode.Usage || !strings.Contains(errb.String(), "SPELLHOST_FAULTS") {
		t.Fatalf("bad SPELLHOST_FAULTS: %d %q", code, errb.String())
	}
}

// TestShippedScripts runs the scripts make run and make run-faults run,
// at small sizes, and requires them to pass.
func TestShippedScripts(t *testing.T) {
	for _, c := range []struct {
		script string
		args   []string
	}{
		{"../../scripts/stress.lua", nil},
		{"../../scripts/faults.lua", []string{"0.3", "0.9"}}, // recovery speed is measured by make bench, not here
		{"../../scripts/memleak.lua", []string{"20", "0.3", "1"}},
	} {
		args := append([]string{"run", "--quiet", c.script, "--"}, c.args...)
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s\n%s", c.script, code, out, errOut)
		}
	}
}

// TestRunOutputFiles: --summary-json, --report and --out per-second=FILE
// are written, and parse; an interrupted run still writes them.
func TestRunOutputFiles(t *testing.T) {
	dir := t.TempDir()
	sum, md, pts := filepath.Join(dir, "s.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "p.jsonl")
	p := script(t, `
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "1200ms"}},
  thresholds = {iterations = {"count>0"}}}
function default() Tool.invoke("calculator", {input = "1+1"}) sleep(0.01) end`)
	code, out, errOut := run(t, "run", "--summary-json", sum, "--report", md, "--out", "per-second="+pts, p)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	var s map[string]any
	b, err := os.ReadFile(sum)
	if err != nil || json.Unmarshal(b, &s) != nil || s["version"] != 2.0 || s["status"] != "passed" {
		t.Fatalf("summary JSON: %v %s", err, b)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "# spellhost report") || !strings.Contains(string(b), "| s | constant-vus |") {
		t.Fatalf("report: %v %s", err, b)
	}
	b, err = os.ReadFile(pts)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		var pt map[string]any
		if err := json.Unmarshal([]byte(l), &pt); err != nil || pt["type"] != "point" {
			t.Fatalf("point line %q: %v", l, err)
		}
		seen[pt["metric"].(string)] = true
	}
	if !seen["iterations"] || !seen["tool_duration"] {
		t.Fatalf("points for %v", seen)
	}

	// Interrupted: still a summary and the files, exit 105.
	gs, stdout, _ := testState(t, nil)
	gs.notify = func(c chan<- os.Signal) {
		go func() { time.Sleep(300 * time.Millisecond); c <- os.Interrupt }()
	}
	sum2 := filepath.Join(dir, "s2.json")
	code = Main(gs, []string{"run", "--summary-json", sum2, script(t, `
options = {scenarios = {s = {executor = "constant-vus", vus = 1, duration = "30s"}}}
function default() sleep(0.01) end`)})
	if code != exitcode.Interrupted || !strings.Contains(stdout.String(), "interrupted") {
		t.Fatalf("interrupted run: %d %q", code, stdout.String())
	}
	if b, err := os.ReadFile(sum2); err != nil || json.Unmarshal(b, &s) != nil || s["status"] != "interrupted" {
		t.Fatalf("summary after interrupt: %v %s", err, b)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--out", "jsonl=x"}, "want json=FILE, csv=FILE"},
		{[]string{"--summary-json", "/no/such/dir/s.json"}, "does not exist"},
		{[]string{"--report", "/no/such/dir/r.md"}, "does not exist"},
	} {
		code, _, errOut := run(t, append(append([]string{"run"}, c.args...), p)...)
		if code != exitcode.Usage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
}

// TestRunPanicWritesOutputs: a bug in spellhost (a panic, injected in a
// VU's iteration here) ends the run with exit 109, its stack on stderr,
// and the summary, --summary-json, --report and --out files written from
// what was recorded.
func TestRunPanicWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	sum, md, pts := filepath.Join(dir, "s.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "p.jsonl")
	gs, stdout, stderr := testState(t, nil)
	var n atomic.Int64
	gs.testHook = func(point string) {
		if point == "iteration" && n.Add(1) == 20 {
			panic("deliberate panic in an iteration")
		}
	}
	code := Main(gs, []string{"run", "--summary-json", sum, "--report", md, "--out", "json=" + pts, script(t, `
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "30s"}}}
function default() Tool.invoke("calculator", {input = "1+1"}) sleep(0.01) end`)})
	if code != exitcode.Panic {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitcode.Panic, stdout, stderr)
	}
	for _, want := range []string{"internal error (a bug in spellhost): deliberate panic in an iteration", "goroutine ", "run_test.go"} {
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout.String(), "scenario s") {
		t.Fatalf("no summary:\n%s", stdout)
	}
	var s map[string]any
	if b, err := os.ReadFile(sum); err != nil || json.Unmarshal(b, &s) != nil || s["status"] != "internal_error" {
		t.Fatalf("summary JSON: %v %v", err, s["status"])
	}
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "# spellhost report") {
		t.Fatalf("report: %v", err)
	}
	if b, err := os.ReadFile(pts); err != nil || !strings.Contains(string(b), `"metric":"iterations"`) {
		t.Fatalf("points: %v %.200s", err, b)
	}
}

// TestRunTinyTimeouts: a timeout too small to tell from zero is refused,
// never silently "no limit" or the default.
func TestRunTinyTimeouts(t *testing.T) {
	p := script(t, `print(1)`)
	for _, args := range [][]string{{"--timeout=1e-12"}, {"--tool-timeout=1ns"}} {
		code, _, errOut := run(t, append(append([]string{"run"}, args...), p)...)
		if code != exitcode.Usage || !strings.Contains(errOut, "1ms") {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}
