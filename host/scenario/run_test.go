package scenario

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/result"
	lualib "spellhost/lua"
	"spellhost/tools"
	"spellhost/tools/builtin"
	"spellhost/tools/perm"
)

// runScript runs a testdata script (or inline source) and returns the
// result, the exit code and stdout.
func runScript(t *testing.T, name string, ov Overrides) (*result.Run, exitcode.Code, string) {
	t.Helper()
	return runScriptWith(t, name, ov, nil)
}

// runScriptWith is runScript with a change to the run's configuration.
func runScriptWith(t *testing.T, name string, ov Overrides, change func(*Config)) (*result.Run, exitcode.Code, string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if strings.Contains(name, "\n") {
		path = filepath.Join(t.TempDir(), "inline.lua")
		if err := os.WriteFile(path, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	var out, errb bytes.Buffer
	cfg := Config{Script: path, Perm: p, Registry: builtinTools(p), Seed: 1, Lib: lualib.FS,
		Stdout: &out, Stderr: &errb, Overrides: ov, Timeout: 60 * time.Second}
	if change != nil {
		change(&cfg)
	}
	res, err := Run(context.Background(), cfg)
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	if err != nil {
		t.Logf("run error: %v", err)
	}
	return res, exitcode.Of(err), out.String()
}

func scenarioByName(r *result.Run, name string) result.Scenario {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return result.Scenario{}
}

func TestLifecycle(t *testing.T) {
	res, code, out := runScript(t, "lifecycle.lua", Overrides{})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// init runs once per VU (VU 0 plus 3); the lifecycle lines come in order.
	var order []string
	inits := 0
	for _, l := range lines {
		if l == "init" {
			inits++
			continue
		}
		order = append(order, l)
	}
	if inits != 4 {
		t.Fatalf("init ran %d times, want once per VU (4)", inits)
	}
	want := []string{"setup", "setup_a 40", "teardown_a 40 2", "teardown 40"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Fatalf("order %q, want %q", order, want)
	}
	a, b := scenarioByName(res, "a"), scenarioByName(res, "b")
	if a.Iterations != 6 || a.Errors != 0 || b.Iterations != 2 || b.Errors != 0 {
		t.Fatalf("a %+v\nb %+v", a, b)
	}
	if len(res.Tools) != 1 || res.Tools[0].Calls != 6 || res.Tools[0].Outcomes["ok"] != 6 {
		t.Fatalf("tools %+v", res.Tools)
	}
}

func TestIterationFailures(t *testing.T) {
	res, code, _ := runScript(t, "failures.lua", Overrides{})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	s := scenarioByName(res, "mixed")
	// 40 iterations over 2 VUs, each VU counting its own n: per VU 20
	// iterations: 5 planned errors, 5 tool errors, 5 timeouts.
	if s.Iterations != 40 || s.Timeouts != 10 || s.Errors != 20 {
		t.Fatalf("%+v", s)
	}
	if s.ErrorsByType["script_error"] != 10 || s.ErrorsByType["execution_error"] != 10 {
		t.Fatalf("errors by type %v", s.ErrorsByType)
	}
	if s.SuccessRate != 0.25 {
		t.Fatalf("success rate %v", s.SuccessRate)
	}
	// Distinct messages are kept with counts: two planned messages, one tool message.
	if len(s.FirstErrors) != 3 {
		t.Fatalf("first errors %+v", s.FirstErrors)
	}
	// n%8 is 4 for n = 4, 12, 20 and 0 for n = 8, 16, per VU.
	counts := map[string]int64{}
	for _, e := range s.FirstErrors {
		counts[e.Message] = e.Count
	}
	if counts["testdata/failures.lua:10: planned failure 4"] != 6 || counts["testdata/failures.lua:10: planned failure 0"] != 4 ||
		counts["testdata/failures.lua:11: execution_error: tool calculator: division by zero"] != 10 {
		t.Fatalf("error entries %+v", s.FirstErrors)
	}
}

func TestThresholdsDecideExit(t *testing.T) {
	res, code, _ := runScript(t, "thresholds.lua", Overrides{})
	if code != exitcode.ThresholdsFailed || res.Status != "failed" {
		t.Fatalf("exit %d status %s", code, res.Status)
	}
	pass := map[string]bool{}
	for _, th := range res.Thresholds {
		pass[th.Metric+" "+th.Expr] = th.Pass
	}
	want := map[string]bool{
		"hits count==50": true, "work_time{kind:fast} p(95)<5": true, "work_time{kind:fast} max<10ms": true,
		"work_time{kind:slow} avg>1000": false, "checks rate==1": true,
	}
	for k, v := range want {
		if got, ok := pass[k]; !ok || got != v {
			t.Errorf("%s: pass %v (present %v), want %v", k, got, ok, v)
		}
	}
	if len(res.Checks) != 1 || res.Checks[0].Passes != 50 {
		t.Fatalf("checks %+v", res.Checks)
	}
}

func TestAbort(t *testing.T) {
	start := time.Now()
	res, code, out := runScript(t, "abort.lua", Overrides{})
	if code != exitcode.ScriptAborted || res.Status != "aborted" || !strings.Contains(res.StopReason, "enough") {
		t.Fatalf("exit %d status %s %q", code, res.Status, res.StopReason)
	}
	if !strings.Contains(out, "teardown ran") {
		t.Fatal("teardown did not run after abort()")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("abort took %v", time.Since(start))
	}
}

func TestAbortOnFail(t *testing.T) {
	res, code, _ := runScript(t, "abort_on_fail.lua", Overrides{})
	if code != exitcode.ThresholdsFailed || len(res.Thresholds) != 1 || res.Thresholds[0].Pass || !res.Thresholds[0].AbortedRun {
		t.Fatalf("exit %d thresholds %+v", code, res.Thresholds)
	}
	if res.Duration > 10 {
		t.Fatalf("abortOnFail let the 30s run go on for %.1fs", res.Duration)
	}
}

func TestTopToBottom(t *testing.T) {
	res, code, out := runScript(t, "toptobottom.lua", Overrides{})
	if code != 0 || !res.TopToBottom || out != "four\t4\n" || len(res.Scenarios) != 0 {
		t.Fatalf("exit %d out %q res %+v", code, out, res)
	}
}

func TestArrivalAndRamping(t *testing.T) {
	res, code, _ := runScript(t, "arrival.lua", Overrides{})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	steady, ramp, vus := scenarioByName(res, "steady"), scenarioByName(res, "ramp"), scenarioByName(res, "vus")
	// The counts are schedules, not timings: 50 in 1s; ramp 10->40 over
	// 0.5s then 40 for 0.5s = 12.5 + 20.
	if steady.Iterations+steady.Dropped != 50 || ramp.Iterations+ramp.Dropped < 32 || ramp.Iterations+ramp.Dropped > 33 {
		t.Fatalf("steady %d+%d, ramp %d+%d", steady.Iterations, steady.Dropped, ramp.Iterations, ramp.Dropped)
	}
	if vus.Iterations == 0 || steady.Service.Count != steady.Iterations {
		t.Fatalf("vus %d iterations; steady service %+v", vus.Iterations, steady.Service)
	}
}

func TestShortcutsAndSubset(t *testing.T) {
	src := "function default() Tool.invoke('calculator', {input = '1'}) end\n"
	res, code, _ := runScript(t, src, Overrides{VUs: 3, Iterations: 30})
	if code != 0 || len(res.Scenarios) != 1 || res.Scenarios[0].Iterations != 30 || res.Scenarios[0].Executor != SharedIterations {
		t.Fatalf("--vus 3 --iterations 30: exit %d %+v", code, res.Scenarios)
	}
	res, code, _ = runScript(t, src, Overrides{VUs: 2, Duration: 300 * time.Millisecond})
	if code != 0 || res.Scenarios[0].Executor != ConstantVUs || res.Scenarios[0].Iterations == 0 {
		t.Fatalf("--vus 2 --duration 300ms: exit %d %+v", code, res.Scenarios)
	}
	// A default function alone runs once.
	res, code, _ = runScript(t, src, Overrides{})
	if code != 0 || res.Scenarios[0].Iterations != 1 {
		t.Fatalf("default alone: %+v", res.Scenarios)
	}
	res, code, _ = runScript(t, "lifecycle.lua", Overrides{Only: []string{"b"}})
	if code != 0 || len(res.Scenarios) != 1 || res.Scenarios[0].Name != "b" {
		t.Fatalf("--scenario b: %+v", res.Scenarios)
	}
}

func TestBadOptions(t *testing.T) {
	cases := []struct {
		src string
		ov  Overrides
		msg string
	}{
		{`options = 5`, Overrides{}, "options: want a table with named fields, got number 5"},
		{`options = {scenarios = {a = {executor = "fast"}}} function default() end`, Overrides{}, `unknown executor "fast"`},
		{`options = {scenarios = {a = {vus = 1}}} function default() end`, Overrides{}, "missing executor"},
		{`options = {scenarios = {a = {executor = "constant-vus", vus = 1}}} function default() end`, Overrides{}, "missing duration"},
		{`options = {scenarios = {a = {executor = "constant-vus", vus = 1, duration = "soon"}}} function default() end`, Overrides{}, "duration: bad duration"},
		{`options = {scenarios = {a = {executor = "constant-vus", vus = 1, duration = "1s", vu = 3}}} function default() end`, Overrides{}, `options.scenarios.a.vu: unknown field; did you mean "vus"?`},
		{`options = {scenarios = {a = {executor = "shared-iterations", vus = 5, iterations = 2}}} function default() end`, Overrides{}, "iterations (2) must be at least vus (5)"},
		{`options = {scenarios = {a = {executor = "shared-iterations", vus = -1}}} function default() end`, Overrides{}, "want a whole number"},
		{`options = {scenarios = {a = {executor = "constant-arrival-rate", rate = 5, duration = "1s"}}} function default() end`, Overrides{}, "missing preAllocatedVUs"},
		{`options = {scenarios = {a = {executor = "ramping-vus", stages = {}}}} function default() end`, Overrides{}, "non-empty list"},
		{`options = {scenarios = {a = {executor = "ramping-vus", stages = {{target = 2}}}}} function default() end`, Overrides{}, "needs both duration and target"},
		{`options = {scenarios = {a = {executor = "shared-iterations", exec = "nope"}}}`, Overrides{}, `exec function "nope" is not defined`},
		{`options = {scenarios = {a = {executor = "shared-iterations", tags = {scenario = "x"}}}} function default() end`, Overrides{}, `"scenario" is set by spellhost`},
		{`options = {thresholds = {nope = "count<1"}} function default() end`, Overrides{}, `no metric "nope"`},
		{`options = {thresholds = {iterations = "p95<1"}} function default() end`, Overrides{}, `unknown aggregation "p95"`},
		{`options = {thresholds = {iteration_duration = "avg<"}} function default() end`, Overrides{}, "missing the value"},
		{`options = {thresholds = {iterations = {{abortOnFail = true}}}} function default() end`, Overrides{}, "missing threshold"},
		{`options = {memory = {warn = "50MB", fail = "20MB"}}`, Overrides{}, "warn"},
		{`options = {vus = 2, iterations = 4}`, Overrides{}, "defines none"},
		{`function default() end`, Overrides{Only: []string{"x"}}, "--scenario x: no such scenario; the script has default"},
	}
	for _, c := range cases {
		_, code, _ := runScript(t, c.src+"\n", c.ov)
		if code != exitcode.InvalidConfig {
			t.Errorf("%s: exit %d, want 104", c.src, code)
		}
	}
	// The messages name the problem.
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "s.lua")
		os.WriteFile(path, []byte(c.src+"\n"), 0o644)
		_, err := Run(context.Background(), Config{Script: path, Lib: lualib.FS, Overrides: c.ov, Registry: builtinTools(nil)})
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want %q", c.src, err, c.msg)
		}
	}
}

func TestSetupErrorsAndTimeouts(t *testing.T) {
	_, code, _ := runScript(t, "function setup() error('no database') end\nfunction default() end\n", Overrides{})
	if code != exitcode.ScriptException {
		t.Fatalf("setup error: exit %d, want 107", code)
	}
	_, code, _ = runScript(t, "options = {setupTimeout = '200ms'}\nfunction setup() sleep(5) end\nfunction default() end\n", Overrides{})
	if code != exitcode.SetupTimeout {
		t.Fatalf("setup timeout: exit %d, want 100", code)
	}
	_, code, _ = runScript(t, "options = {teardownTimeout = '200ms'}\nfunction teardown() sleep(5) end\nfunction default() end\n", Overrides{})
	if code != exitcode.TeardownTimeout {
		t.Fatalf("teardown timeout: exit %d, want 101", code)
	}
	_, code, _ = runScript(t, "function setup() return {f = print} end\nfunction default() end\n", Overrides{})
	if code == 0 {
		t.Fatal("setup data with a function was accepted")
	}
	_, code, _ = runScript(t, "error('top-level failure')\n", Overrides{})
	if code != exitcode.ScriptException {
		t.Fatalf("init error: exit %d", code)
	}
}

func TestInjectedLeakIsCaught(t *testing.T) {
	res, code, out := runScript(t, "leak.lua", Overrides{})
	if code != 0 || !strings.Contains(out, "verdict\tleak\ttrue") {
		t.Fatalf("exit %d, out %q, thresholds %+v", code, out, res.Thresholds)
	}
	if len(res.Faults) != 1 || res.Faults[0].Hits != 40 || res.Faults[0].Active {
		t.Fatalf("faults %+v", res.Faults)
	}
}

// TestScenarioMetricsFlushedAtItsEnd: a scenario's teardown and the
// scenarios after it read every value its VUs recorded.
func TestScenarioMetricsFlushedAtItsEnd(t *testing.T) {
	_, code, out := runScript(t, `
options = {scenarios = {a = {executor = "shared-iterations", vus = 2, iterations = 6, exec = "w", teardown = "td"},
  b = {executor = "shared-iterations", vus = 1, iterations = 1, exec = "w2", startAfter = "a"}}}
function w() end
function td() print("teardown", Metrics.stats("iterations{scenario:a}").count) end
function w2() print("b", Metrics.stats("iterations{scenario:a}").count) end
`, Overrides{})
	if code != 0 || !strings.Contains(out, "teardown\t6") || !strings.Contains(out, "b\t6") {
		t.Fatalf("exit %d, out %q", code, out)
	}
}

// TestInvalidOptionsAllAtOnce: a script's options, converted from Lua,
// with several problems (a function where its name goes, 0/0 and 1/0
// among them): every one is reported in one error, sorted, and the run
// returns no result.
func TestInvalidOptionsAllAtOnce(t *testing.T) {
	src := `
function work() end
options = {
  scenarios = {
    calc = {executor = "constant-vus", vu = 4, vus = "4", duration = "5s", exec = work},
    paced = {executor = "constant-arrival-rate", rate = 10, duration = "1s"},
  },
  thresholds = {iteration_duration = {"p(95)<"}},
  memory = {warn = 0/0, interval = 1/0},
}
`
	res, code, _ := runScript(t, src, Overrides{})
	if code != exitcode.InvalidConfig || res != nil {
		t.Fatalf("exit %d, result %v", code, res)
	}
	path := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Config{Script: path, Lib: lualib.FS})
	want := `invalid options:
  options.memory.interval: bad duration +Inf: must be a finite number of seconds, not negative
  options.memory.warn: want a size such as "20MiB" or a number of bytes, got number NaN
  options.scenarios.calc.exec: want a string, got a function
  options.scenarios.calc.vu: unknown field; did you mean "vus"?
  options.scenarios.calc.vus: want a whole number from 0, got string "4"
  options.scenarios.paced: exec function "default" is not defined at the top level of the script
  options.scenarios.paced: missing preAllocatedVUs
  options.thresholds.iteration_duration[1]: threshold "p(95)<" on iteration_duration: missing the value after the comparison`
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

// builtinTools returns the factory cmd/spellhost passes: the built-in tools
// over p.
func builtinTools(p *perm.Set) func() (*tools.Registry, error) {
	return func() (*tools.Registry, error) { return builtin.NewRegistry(builtin.Config{Perm: p}) }
}
