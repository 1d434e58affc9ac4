package scenario

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"spellhost/host/luavm"
	"spellhost/host/metrics"
)

// testScript defines the global functions default, work and prepare, and
// the metric hits beside the built-in ones.
func testScript(t testing.TB) Script {
	t.Helper()
	st := metrics.NewStore()
	if _, err := st.Define("hits", metrics.Counter, metrics.None); err != nil {
		t.Fatal(err)
	}
	return Script{
		HasFunction: func(name string) bool { return slices.Contains([]string{"default", "work", "prepare"}, name) },
		Metric:      st.Def,
	}
}

// table is an options table written as JSON, as luavm would convert it
// from Lua (numbers are float64, lists []any, tables map[string]any).
func table(t *testing.T, src string) any {
	t.Helper()
	if src == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(src), &v); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

// TestParseOptionsExecutors: every executor with its defaults filled.
func TestParseOptionsExecutors(t *testing.T) {
	o, err := ParseOptions(table(t, `{"scenarios": {
		"shared": {"executor": "shared-iterations", "vus": 2, "iterations": 10, "exec": "work", "tags": {"team": "core", "n": 3}},
		"pervu": {"executor": "per-vu-iterations", "startTime": "1s", "startAfter": "shared", "maxDuration": 90},
		"steady": {"executor": "constant-vus", "vus": 3, "duration": "30s", "timeout": "250ms", "setup": "prepare"},
		"ramp": {"executor": "ramping-vus", "stages": [{"duration": "10s", "target": 20}, {"duration": 5, "target": 0}]},
		"paced": {"executor": "constant-arrival-rate", "rate": 50, "duration": "1m", "preAllocatedVUs": 5, "gracefulStop": "2s"},
		"climb": {"executor": "ramping-arrival-rate", "startRate": 1, "timeUnit": "1m", "preAllocatedVUs": 2, "maxVUs": 8,
			"stages": [{"duration": "1m", "target": 60}], "startAfter": ["paced", "ramp"]}
	}}`), testScript(t), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := []*Scenario{
		{Name: "climb", Executor: RampingArrivalRate, Exec: "default", StartRate: 1, TimeUnit: time.Minute, PreAllocatedVUs: 2, MaxVUs: 8,
			Stages: []Stage{{Duration: time.Minute, Target: 60}}, StartAfter: []string{"paced", "ramp"}, GracefulStop: DefaultGracefulStop},
		{Name: "paced", Executor: ConstantArrivalRate, Exec: "default", Rate: 50, TimeUnit: time.Second, Duration: time.Minute,
			PreAllocatedVUs: 5, MaxVUs: 5, GracefulStop: 2 * time.Second},
		{Name: "pervu", Executor: PerVUIterations, Exec: "default", VUs: 1, Iterations: 1, MaxDuration: 90 * time.Second,
			StartTime: time.Second, StartAfter: []string{"shared"}, GracefulStop: DefaultGracefulStop},
		{Name: "ramp", Executor: RampingVUs, Exec: "default", StartVUs: 1, GracefulStop: DefaultGracefulStop,
			Stages: []Stage{{Duration: 10 * time.Second, Target: 20}, {Duration: 5 * time.Second, Target: 0}}, GracefulRampDown: DefaultGracefulRampDown},
		{Name: "shared", Executor: SharedIterations, Exec: "work", VUs: 2, Iterations: 10, MaxDuration: DefaultMaxDuration,
			GracefulStop: DefaultGracefulStop, Tags: map[string]string{"team": "core", "n": "3"}},
		{Name: "steady", Executor: ConstantVUs, Exec: "default", VUs: 3, Duration: 30 * time.Second, Timeout: 250 * time.Millisecond,
			Setup: "prepare", GracefulStop: DefaultGracefulStop},
	}
	if len(o.Scenarios) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(o.Scenarios), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(o.Scenarios[i], want[i]) {
			t.Errorf("scenario %s:\n got %+v\nwant %+v", want[i].Name, *o.Scenarios[i], *want[i])
		}
	}
	if o.SetupTimeout != DefaultSetupTimeout || o.Memory.Warn != metrics.DefaultWarnBytes || o.Tasks != (TaskOptions{}) {
		t.Errorf("defaults: %+v", o)
	}
}

// TestParseOptionsTables: thresholds in each form, memory, tasks and
// timeouts.
func TestParseOptionsTables(t *testing.T) {
	o, err := ParseOptions(table(t, `{
		"thresholds": {"hits": "count>0", "iteration_duration{scenario:a}": ["p(95)<5", {"threshold": "max<50", "abortOnFail": true, "delayAbortEval": "10s"}],
			"checks": {"threshold": "rate>0.9"}},
		"memory": {"interval": "50ms", "warmUp": 2, "warn": "1MB", "fail": 5000000},
		"tasks": {"workers": 8, "queue": 100, "rate": 60, "burst": 2, "timeout": "5s", "budget": 10, "keep": 50, "keepFor": "1m"},
		"setupTimeout": "2s", "teardownTimeout": 3
	}`), testScript(t), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, th := range o.Thresholds {
		s := th.Name()
		if th.AbortOnFail {
			s += " abort after " + th.DelayAbortEval.String()
		}
		got = append(got, s)
	}
	want := []string{"checks: rate>0.9", "hits: count>0", "iteration_duration{scenario:a}: p(95)<5",
		"iteration_duration{scenario:a}: max<50 abort after 10s"}
	if !slices.Equal(got, want) {
		t.Errorf("thresholds\n got %q\nwant %q", got, want)
	}
	if o.Memory != (MemoryOptions{Interval: 50 * time.Millisecond, WarmUp: 2 * time.Second, Warn: 1_000_000, Fail: 5_000_000}) {
		t.Errorf("memory %+v", o.Memory)
	}
	if o.Tasks != (TaskOptions{Workers: 8, Queue: 100, Rate: 60, Burst: 2, Timeout: 5 * time.Second, Budget: 10, Keep: 50, KeepFor: time.Minute}) {
		t.Errorf("tasks %+v", o.Tasks)
	}
	if o.SetupTimeout != 2*time.Second || o.TeardownTimeout != 3*time.Second || len(o.Scenarios) != 1 || o.Scenarios[0].Name != "default" {
		t.Errorf("timeouts or the default scenario: %+v", o)
	}
}

// TestParseOptionsProblems: each problem named by its path, every one of
// a table at once, sorted, and none that only follows from another.
func TestParseOptionsProblems(t *testing.T) {
	execs := "shared-iterations, per-vu-iterations, constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate"
	cases := []struct {
		name, src string
		ov        Overrides
		want      []string
	}{
		{"not a table", `5`, Overrides{}, []string{"options: want a table with named fields, got number 5"}},
		{"a list", `["a"]`, Overrides{}, []string{"options: want a table with named fields, got a list"}},
		{"unknown field, a slip", `{"thresold": {}}`, Overrides{}, []string{`options.thresold: unknown field; did you mean "thresholds"?`}},
		{"unknown field, another case", `{"setuptimeout": "1s"}`, Overrides{}, []string{`options.setuptimeout: unknown field; did you mean "setupTimeout"?`}},
		{"unknown field, far", `{"colour": "red"}`, Overrides{}, []string{
			"options.colour: unknown field; this table takes duration, iterations, memory, scenarios, setupTimeout, tags, tasks, teardownTimeout, thresholds, vus"}},
		{"the issue's example", `{"scenarios": {"calc": {"executor": "constant-vus", "vu": 4, "vus": "4", "duration": "5s"}}}`, Overrides{}, []string{
			`options.scenarios.calc.vu: unknown field; did you mean "vus"?`,
			`options.scenarios.calc.vus: want a whole number from 0, got string "4"`}},
		{"a field of another executor", `{"scenarios": {"p": {"executor": "constant-arrival-rate", "rate": 5, "duration": "1s", "preAllocatedVUs": 1, "vus": 3}}}`,
			Overrides{}, []string{"options.scenarios.p.vus: not a field of constant-arrival-rate (its own fields: duration, maxVUs, preAllocatedVUs, rate, timeUnit)"}},
		{"missing executor", `{"scenarios": {"a": {"vus": 1}}}`, Overrides{}, []string{"options.scenarios.a: missing executor; one of " + execs}},
		{"unknown executor", `{"scenarios": {"a": {"executor": "fast", "vus": 1, "bogus": 1}}}`, Overrides{}, []string{
			`options.scenarios.a.bogus: unknown field; this table takes duration, exec, executor, gracefulRampDown, gracefulStop, iterations, maxDuration, maxVUs, ` +
				`preAllocatedVUs, rate, setup, stages, startAfter, startRate, startTime, startVUs, tags, teardown, timeUnit, timeout, vus`,
			`options.scenarios.a.executor: unknown executor "fast"; one of ` + execs}},
		{"executor not a string", `{"scenarios": {"a": {"executor": 5}}}`, Overrides{}, []string{"options.scenarios.a.executor: want a string, got number 5"}},
		{"every type at once", `{"scenarios": {"a": {"executor": "shared-iterations", "vus": true, "iterations": 1.5, "exec": {}, "startTime": [],
			"tags": "x", "startAfter": 3, "timeout": false}}, "setupTimeout": "soon", "memory": {"warn": "lots", "interval": "0.5ms"}, "tasks": {"workers": 20000, "keep": -1}}`,
			Overrides{}, []string{
				`options.memory.interval: 500µs is below the 1ms minimum`,
				`options.memory.warn: want a size such as "20MiB" or a number of bytes, got string "lots"`,
				`options.scenarios.a.exec: want a string, got an empty table`,
				`options.scenarios.a.iterations: want a whole number from 0, got number 1.5`,
				`options.scenarios.a.startAfter: want a scenario name or a list of names, got number 3`,
				`options.scenarios.a.startTime: want a duration such as "30s" or a number of seconds, got a list`,
				`options.scenarios.a.tags: want a table of names to strings, got string "x"`,
				`options.scenarios.a.timeout: want a duration such as "30s" or a number of seconds, got boolean false`,
				`options.scenarios.a.vus: want a whole number from 0, got boolean true`,
				`options.setupTimeout: bad duration "soon": want seconds or a duration such as "250ms" or "1m30s"`,
				`options.tasks.keep: want a whole number from 0, got number -1`,
				`options.tasks.workers: 20000 is over the limit of 10000`}},
		{"no cascade from a bad count", `{"scenarios": {"a": {"executor": "shared-iterations", "vus": 5, "iterations": "x"}}}`, Overrides{}, []string{
			`options.scenarios.a.iterations: want a whole number from 0, got string "x"`}},
		{"counts and relations", `{"scenarios": {"a": {"executor": "shared-iterations", "vus": 5, "iterations": 2},
			"b": {"executor": "constant-vus", "vus": 0, "duration": 0},
			"c": {"executor": "constant-arrival-rate", "rate": 0, "timeUnit": 0, "duration": "1s", "preAllocatedVUs": 4, "maxVUs": 2},
			"d": {"executor": "ramping-vus", "startVUs": 200000, "stages": [{"duration": "1s", "target": 100001}, {"target": 1}, 7, {"duration": "1s", "target": 1, "extra": 1}]},
			"e": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1}}}`, Overrides{}, []string{
			`options.scenarios.a: iterations (2) must be at least vus (5) for shared-iterations`,
			`options.scenarios.b.duration: must be positive`,
			`options.scenarios.b.vus: must be at least 1`,
			`options.scenarios.c: maxVUs (2) is below preAllocatedVUs (4)`,
			`options.scenarios.c.rate: must be at least 1`,
			`options.scenarios.c.timeUnit: must be positive`,
			`options.scenarios.d.stages[2]: needs both duration and target`,
			`options.scenarios.d.stages[3]: want {duration, target}, got number 7`,
			`options.scenarios.d.stages[4].extra: unknown field; this table takes duration, target`,
			`options.scenarios.d.startVUs: 200000 is more than 100000 VUs`,
			`options.scenarios.e: missing stages, e.g. {{duration = "10s", target = 20}}`}},
		{"missing fields", `{"scenarios": {"a": {"executor": "constant-arrival-rate"}, "b": {"executor": "constant-vus"}}}`, Overrides{}, []string{
			`options.scenarios.a: missing duration (e.g. "30s")`,
			`options.scenarios.a: missing preAllocatedVUs`,
			`options.scenarios.a: missing rate`,
			`options.scenarios.b: missing duration (e.g. "30s")`}},
		{"stage over the cap", `{"scenarios": {"d": {"executor": "ramping-vus", "stages": [{"duration": "1s", "target": 100001}]}}}`, Overrides{}, []string{
			`options.scenarios.d.stages[1].target: 100001 is more than 100000 VUs`}},
		{"scenario names and functions", `{"scenarios": {"a b": {"executor": "shared-iterations", "exec": "nope", "setup": "gone", "teardown": "work"}}}`,
			Overrides{}, []string{
				`options.scenarios["a b"]: exec function "nope" is not defined at the top level of the script`,
				`options.scenarios["a b"]: scenario name "a b": want letters, digits, '_' or '-'`,
				`options.scenarios["a b"]: setup function "gone" is not defined at the top level of the script`}},
		{"tags", `{"scenarios": {"a": {"executor": "shared-iterations", "tags": {"scenario": "x", "k": "a\nb", "a:b": "v", "ok": true, "fine": "a=b, {c}"}}}}`, Overrides{}, []string{
			`options.scenarios.a.tags: tag key "a:b": want 1 to 256 bytes without = , : { } " or newlines, and no space at either end`,
			`options.scenarios.a.tags.k: tag value "a\nb": want 1 to 256 bytes without newlines`,
			`options.scenarios.a.tags.ok: want a string, got boolean true`,
			`options.scenarios.a.tags.scenario: "scenario" is set by spellhost to the scenario's name`}},
		{"global tags", `{"tags": {"scenario": "x", "env": "ci", "n": 3, "bad": []}}`, Overrides{}, []string{
			`options.tags.bad: want a string, got a list`,
			`options.tags.scenario: "scenario" is set by spellhost to the scenario's name`}},
		{"startAfter", `{"scenarios": {"a": {"executor": "shared-iterations", "startAfter": ["b", 4]}, "b": {"executor": "shared-iterations", "startAfter": "c"}}}`,
			Overrides{}, []string{
				`options.scenarios.a.startAfter[2]: want a scenario name, got number 4`,
				`options.scenarios.b.startAfter: no scenario "c" in this run`}},
		{"a cycle", `{"scenarios": {"a": {"executor": "shared-iterations", "startAfter": "b"}, "b": {"executor": "shared-iterations", "startAfter": "a"}}}`,
			Overrides{}, []string{`options.scenarios: startAfter makes a cycle: a -> b -> a`}},
		{"scenarios empty or a list", `{"scenarios": {}}`, Overrides{}, []string{`options.scenarios: empty; name at least one scenario, or leave scenarios out`}},
		{"scenarios a list", `{"scenarios": [{"executor": "shared-iterations"}]}`, Overrides{}, []string{`options.scenarios: want a table with named entries, got a list`}},
		{"thresholds", `{"thresholds": {"nope": "count<1", "hits{": "count<1", "iterations": ["p95<1", 5, {"abortOnFail": "yes"}], "checks": 3,
			"iteration_duration": {"threshold": "avg<", "delayAbortEval": "later"}}}`, Overrides{}, []string{
			`options.thresholds.checks: want a string or a list, got number 3`,
			`options.thresholds.iteration_duration[1].delayAbortEval: bad duration "later": want seconds or a duration such as "250ms" or "1m30s"`,
			`options.thresholds.iterations[1]: threshold "p95<1" on iterations: unknown aggregation "p95"; one of avg, min, max, med, p(N), count, rate, value`,
			`options.thresholds.iterations[2]: want a string or a table, got number 5`,
			`options.thresholds.iterations[3]: missing threshold = "..."`,
			`options.thresholds.iterations[3].abortOnFail: want true or false, got string "yes"`,
			`options.thresholds.nope: no metric "nope"; declare custom metrics at the top level of the script with Metrics.counter/gauge/rate/trend`,
			`options.thresholds["hits{"]: "hits{": missing '}' after the tags`}},
		{"memory", `{"memory": {"warn": "50MB", "fail": "20MB"}}`, Overrides{}, []string{`options.memory: warn (50000000 bytes) is above fail (20000000 bytes)`}},
		{"--scenario", `{"scenarios": {"a": {"executor": "shared-iterations"}}}`, Overrides{Only: []string{"a", "x"}}, []string{
			`--scenario x: no such scenario; the script has a`}},
	}
	script := testScript(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOptions(table(t, c.src), script, c.ov)
			wantProblems(t, err, c.want)
		})
	}
}

// wantProblems checks that err lists exactly the problems want, in order.
func wantProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("the options were accepted")
	}
	if !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("%v does not match ErrInvalidOptions", err)
	}
	var oe *optionsError
	if !errors.As(err, &oe) {
		t.Fatalf("%T", err)
	}
	if !slices.Equal(oe.problems, want) {
		t.Errorf("problems\n got %s\nwant %s", strings.Join(oe.problems, "\n     "), strings.Join(want, "\n     "))
	}
	wantMsg := "invalid options: " + strings.Join(want, "")
	if len(want) > 1 {
		wantMsg = "invalid options:\n  " + strings.Join(want, "\n  ")
	}
	if err.Error() != wantMsg {
		t.Errorf("message %q, want %q", err.Error(), wantMsg)
	}
}

// TestParseOptionsForeign: a function (or another value with no Go form)
// where a name goes is named as such, beside the other problems.
func TestParseOptionsForeign(t *testing.T) {
	raw := table(t, `{"scenarios": {"a": {"executor": "shared-iterations", "vus": "2"}}}`)
	raw.(map[string]any)["scenarios"].(map[string]any)["a"].(map[string]any)["exec"] = luavm.Foreign{Type: "function"}
	_, err := ParseOptions(raw, testScript(t), Overrides{})
	wantProblems(t, err, []string{"options.scenarios.a.exec: want a string, got a function",
		`options.scenarios.a.vus: want a whole number from 0, got string "2"`})
}

// TestParseOptionsShortcutsWithoutDefault: --vus runs default(), which
// the script must define.
func TestParseOptionsShortcutsWithoutDefault(t *testing.T) {
	_, err := ParseOptions(table(t, `{"vus": 2}`), Script{HasFunction: func(string) bool { return false }},
		Overrides{VUs: 1, Iterations: 4, Only: []string{"x"}})
	wantProblems(t, err, []string{"--scenario x: no such scenario; the script has none",
		"--vus/--iterations/--duration run the script's default function, and it defines none"})
}

// TestParseOptionsOverrides: --vus and friends replace the script's
// scenarios without reading them (as before: a broken scenario the run
// does not use is not an error); --scenario picks a subset.
func TestParseOptionsOverrides(t *testing.T) {
	src := `{"scenarios": {"a": {"executor": "warp"}}, "vus": 2, "duration": "1s"}`
	o, err := ParseOptions(table(t, src), testScript(t), Overrides{VUs: 3, Iterations: 9})
	if err != nil || len(o.Scenarios) != 1 || o.Scenarios[0].VUs != 3 || o.Scenarios[0].Iterations != 9 || o.Scenarios[0].Executor != SharedIterations {
		t.Fatalf("%v %+v", err, o)
	}
	o, err = ParseOptions(table(t, `{"vus": 2, "duration": "1s"}`), testScript(t), Overrides{})
	if err != nil || o.Scenarios[0].Executor != ConstantVUs || o.Scenarios[0].VUs != 2 || o.Scenarios[0].Duration != time.Second {
		t.Fatalf("options.vus and duration: %v %+v", err, o)
	}
	o, err = ParseOptions(table(t, `{"scenarios": {"a": {"executor": "shared-iterations"}, "b": {"executor": "per-vu-iterations"}}}`),
		testScript(t), Overrides{Only: []string{"b"}})
	if err != nil || len(o.Scenarios) != 1 || o.Scenarios[0].Name != "b" {
		t.Fatalf("--scenario b: %v %+v", err, o)
	}
	o, err = ParseOptions(nil, Script{HasFunction: func(string) bool { return false }}, Overrides{})
	if err != nil || len(o.Scenarios) != 0 {
		t.Fatalf("top to bottom: %v %+v", err, o)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"vus", "maxVUs", "preAllocatedVUs", "duration", "timeUnit", "thresholds"}
	for name, want := range map[string]string{
		"vu": "vus", "VUS": "vus", "max_vus": "maxVUs", "preallocated-vus": "preAllocatedVUs", "duratoin": "duration",
		"timeunit": "timeUnit", "threshold": "thresholds", "tresholds": "thresholds", "x": "", "rate": "", "users": "",
	} {
		if got := suggest(name, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestKeyPaths(t *testing.T) {
	for k, want := range map[string]string{
		"calc": "o.calc", "a_b-c2": "o.a_b-c2", "a b": `o["a b"]`, "tool_duration{tool:x}": `o["tool_duration{tool:x}"]`,
		"": `o[""]`, "2x": `o["2x"]`, "é": `o["é"]`,
	} {
		if got := key("o", k); got != want {
			t.Errorf("key(%q) = %q, want %q", k, got, want)
		}
	}
}

// FuzzParseOptions: whatever table a script writes, ParseOptions returns
// options or an error matching ErrInvalidOptions, never a panic.
func FuzzParseOptions(f *testing.F) {
	for _, seed := range []string{
		`{}`, `5`, `[]`, `{"scenarios": {"a": {"executor": "constant-vus", "vus": 2, "duration": "1s"}}}`,
		`{"scenarios": {"a": {"executor": "ramping-vus", "stages": [{"duration": "1s", "target": 3}]}}, "thresholds": {"iterations": "count>1"}}`,
		`{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": 1, "preAllocatedVUs": 1, "startAfter": ["a"]}}}`,
		`{"thresholds": {"iteration_duration{scenario:a}": [{"threshold": "p(99)<5", "abortOnFail": true}]}, "memory": {"warn": "1MB"}}`,
		`{"tasks": {"workers": 1e12, "timeout": 0.0001}, "vus": 3, "iterations": -2}`,
	} {
		f.Add(seed)
	}
	script := testScript(f)
	f.Fuzz(func(t *testing.T, src string) {
		var raw any
		if json.Unmarshal([]byte(src), &raw) != nil {
			return
		}
		o, err := ParseOptions(raw, script, Overrides{})
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Fatalf("%s: %v is not an options error", src, err)
		}
		if err == nil {
			o.Describe()
		}
	})
}
