package scenario

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// Executor names, as in k6. They are the result package's, which the
// summary's readers use without this package.
const (
	SharedIterations    = result.SharedIterations
	PerVUIterations     = result.PerVUIterations
	ConstantVUs         = result.ConstantVUs
	RampingVUs          = result.RampingVUs
	ConstantArrivalRate = result.ConstantArrivalRate
	RampingArrivalRate  = result.RampingArrivalRate
)

// Executors lists the executor names.
var Executors = []string{SharedIterations, PerVUIterations, ConstantVUs, RampingVUs, ConstantArrivalRate, RampingArrivalRate}

// Defaults, as in k6.
const (
	DefaultGracefulStop     = 30 * time.Second
	DefaultMaxDuration      = 10 * time.Minute
	DefaultSetupTimeout     = 60 * time.Second
	DefaultTeardownTimeout  = 60 * time.Second
	DefaultGracefulRampDown = 30 * time.Second
)

// Stage is one step of a ramping executor: reach Target (VUs, or
// iterations per TimeUnit) linearly over Duration.
type Stage struct {
	Duration time.Duration `json:"duration"`
	Target   int           `json:"target"`
}

// Scenario is one entry of options.scenarios, with defaults filled.
type Scenario struct {
	Name     string `json:"-"`
	Executor string `json:"executor"`
	// Exec is the global function each iteration calls (default "default").
	Exec string `json:"exec"`
	// VUs for shared-iterations, per-vu-iterations and constant-vus.
	VUs int `json:"vus,omitempty"`
	// Iterations: the shared total, or each VU's count.
	Iterations int `json:"iterations,omitempty"`
	// Duration of constant-vus and the arrival-rate executors.
	Duration time.Duration `json:"duration,omitzero"`
	// Rate iterations per TimeUnit (constant-arrival-rate).
	Rate      int           `json:"rate,omitempty"`
	TimeUnit  time.Duration `json:"timeUnit,omitzero"`
	StartRate int           `json:"startRate,omitempty"`
	StartVUs  int           `json:"startVUs,omitempty"`
	// PreAllocatedVUs are started before the arrival-rate executors run;
	// more, up to MaxVUs, are started when all are busy.
	PreAllocatedVUs int     `json:"preAllocatedVUs,omitempty"`
	MaxVUs          int     `json:"maxVUs,omitempty"`
	Stages          []Stage `json:"stages,omitempty"`
	// StartTime delays the scenario from the start of the run, or from
	// the end of the scenarios in StartAfter.
	StartTime time.Duration `json:"startTime"`
	// StartAfter names scenarios that must finish before this one starts
	// (a spellhost extension: k6 has only fixed start times).
	StartAfter []string `json:"startAfter,omitempty"`
	// GracefulStop is how long running iterations may finish once the
	// scenario's time is up; then they are interrupted.
	GracefulStop     time.Duration `json:"gracefulStop"`
	GracefulRampDown time.Duration `json:"gracefulRampDown,omitzero"`
	MaxDuration      time.Duration `json:"maxDuration,omitzero"`
	// Timeout bounds one iteration (0: none); an iteration that overruns is
	// stopped and counted in iteration_timeouts, and the VU goes on.
	Timeout time.Duration     `json:"timeout,omitzero"`
	Tags    map[string]string `json:"tags,omitempty"`
	// Setup and Teardown name global functions run once before and after
	// this scenario; Setup's result reaches each iteration as its second
	// argument and Teardown's.
	Setup    string `json:"setup,omitempty"`
	Teardown string `json:"teardown,omitempty"`
}

// MemoryOptions tune the memory sampler and the leak verdict.
type MemoryOptions struct {
	// Interval is how often memory is sampled (default 100ms).
	Interval time.Duration `json:"interval"`
	WarmUp   time.Duration `json:"warmUp"`
	Warn     uint64        `json:"warn"`
	Fail     uint64        `json:"fail"`
}

// TaskOptions configure the kernel's task manager (options.tasks).
type TaskOptions struct {
	Workers int           `json:"workers"` // default 4
	Queue   int           `json:"queue"`   // capacity, default 10000
	Rate    int           `json:"rate"`    // attempts per minute, 0 unlimited
	Burst   int           `json:"burst"`
	Timeout time.Duration `json:"timeout"` // per attempt, default 60s
	Budget  int           `json:"budget"`  // default per-task budget, 0 unlimited
	Keep    int           `json:"keep"`    // finished tasks kept, default 10000
	KeepFor time.Duration `json:"keepFor"` // how long, default 10m
	// Backend is "memory" (the default: the in-process manager) or
	// "jetstream" (the durable backend: an embedded NATS server on a
	// temporary folder, or the cluster at NATS).
	Backend string `json:"backend,omitempty"`
	// NATS is the URL of an external NATS cluster; it implies "jetstream".
	NATS string `json:"nats,omitempty"`
	// Namespace separates kernels sharing a cluster (default "default");
	// workers started with the same namespace run this run's tasks.
	Namespace string `json:"namespace,omitempty"`
	// Remote (options.tasks.local = false) runs no task in this process:
	// spellhost worker processes run them (jetstream only; a fn task is
	// then refused, since only this process can run it).
	Remote bool `json:"remote,omitempty"`
}

// Options are the script's options table, resolved.
type Options struct {
	Tasks           TaskOptions `json:"tasks"`
	Scenarios       []*Scenario `json:"-"`
	Thresholds      []*metrics.Threshold
	SetupTimeout    time.Duration `json:"setupTimeout"`
	TeardownTimeout time.Duration `json:"teardownTimeout"`
	Memory          MemoryOptions `json:"memory"`
	// Tags are options.tags, the run's global tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// ErrInvalidOptions is what every error about the options matches
// (errors.Is); such a run exits 104 and starts nothing.
var ErrInvalidOptions = errors.New("invalid options")

// optionsError is every problem with the options, each a line naming
// where it is; it exits 104.
type optionsError struct{ problems []string }

func (e *optionsError) Error() string {
	if len(e.problems) == 1 {
		return "invalid options: " + e.problems[0]
	}
	return "invalid options:\n  " + strings.Join(e.problems, "\n  ")
}

// Is makes every options error match ErrInvalidOptions.
func (e *optionsError) Is(target error) bool { return target == ErrInvalidOptions }

func optErr(format string, args ...any) error {
	return &optionsError{problems: []string{fmt.Sprintf(format, args...)}}
}

// Overrides are the command line's shortcuts: --vus, --iterations,
// --duration build one scenario for the script's default function, and
// --scenario runs a subset.
type Overrides struct {
	VUs        int
	Iterations int
	Duration   time.Duration
	Only       []string
}

// Script is what the options are checked against once the script's top
// level ran: its global functions and its metrics.
type Script struct {
	// HasFunction reports whether the script defines the global function.
	HasFunction func(name string) bool
	// Metric returns a metric by name: a built-in one or one the script
	// declared (metrics.Store.Def).
	Metric func(name string) (*metrics.Def, bool)
}

// maxVUs caps the VUs one scenario may ask for.
const maxVUs = 100_000

// ParseOptions reads the script's options table (nil when the script set
// none) as luavm.FromLuaForeign converts it, applies the defaults and the
// command line's overrides, and checks every rule. It reports every
// problem it finds at once, sorted, one per line, as an error matching
// ErrInvalidOptions.
func ParseOptions(raw any, script Script, ov Overrides) (*Options, error) {
	d := &decoder{}
	var t optionsTable
	switch m := raw.(type) {
	case nil:
	case map[string]any:
		d.fields("options", m, reflect.ValueOf(&t).Elem(), nil)
	default:
		d.fail("options", "want a table with named fields, got %s", describe(raw))
	}
	o := &Options{SetupTimeout: DefaultSetupTimeout, TeardownTimeout: DefaultTeardownTimeout}
	if t.SetupTimeout != nil {
		o.SetupTimeout = time.Duration(*t.SetupTimeout)
	}
	if t.TeardownTimeout != nil {
		o.TeardownTimeout = time.Duration(*t.TeardownTimeout)
	}
	o.Memory = d.memory(t.Memory)
	o.Tasks = d.tasks(t.Tasks)
	o.Tags = t.Tags

	// Command-line shortcuts win over the script, as in k6: the script's
	// scenarios are then not read at all.
	vus, iters, dur, scen := t.VUs, t.Iterations, time.Duration(t.Duration), t.Scenarios
	if ov.VUs > 0 || ov.Iterations > 0 || ov.Duration > 0 {
		vus, iters, dur, scen = ov.VUs, ov.Iterations, ov.Duration, nil
	}
	hasDefault := script.HasFunction != nil && script.HasFunction("default")
	switch {
	case scen != nil:
		for _, name := range sortedKeys(scen) {
			o.Scenarios = append(o.Scenarios, d.scenario(name, scen[name]))
		}
		if len(o.Scenarios) == 0 {
			d.fail("options.scenarios", "empty; name at least one scenario, or leave scenarios out")
		}
	case vus > 0 || iters > 0 || dur > 0:
		sc := &Scenario{Name: "default", Exec: "default", GracefulStop: DefaultGracefulStop}
		sc.VUs = max(vus, 1)
		switch {
		case iters > 0:
			sc.Executor, sc.Iterations = SharedIterations, iters
			sc.MaxDuration = DefaultMaxDuration
			if dur > 0 {
				sc.MaxDuration = dur
			}
		case dur > 0:
			sc.Executor, sc.Duration = ConstantVUs, dur
		default:
			sc.Executor, sc.Iterations, sc.MaxDuration = SharedIterations, sc.VUs, DefaultMaxDuration
		}
		if !hasDefault {
			d.fail("", "--vus/--iterations/--duration run the script's default function, and it defines none")
			break
		}
		o.Scenarios = []*Scenario{sc}
	case hasDefault:
		o.Scenarios = []*Scenario{{Name: "default", Executor: SharedIterations, Exec: "default", VUs: 1, Iterations: 1,
			MaxDuration: DefaultMaxDuration, GracefulStop: DefaultGracefulStop}}
	}
	if len(ov.Only) > 0 {
		var kept []*Scenario
		for _, want := range ov.Only {
			i := slices.IndexFunc(o.Scenarios, func(s *Scenario) bool { return s.Name == want })
			if i < 0 {
				var have []string
				for _, s := range o.Scenarios {
					have = append(have, s.Name)
				}
				if len(have) == 0 {
					have = []string{"none"}
				}
				d.fail("", "--scenario %s: no such scenario; the script has %s", want, strings.Join(have, ", "))
				continue
			}
			kept = append(kept, o.Scenarios[i])
		}
		o.Scenarios = kept
	}
	d.checkStartAfter(o.Scenarios)
	for _, sc := range o.Scenarios {
		for _, fn := range []struct{ what, name string }{{"exec", sc.Exec}, {"setup", sc.Setup}, {"teardown", sc.Teardown}} {
			if fn.name != "" && !d.has(key("options.scenarios", sc.Name)+"."+fn.what) && (script.HasFunction == nil || !script.HasFunction(fn.name)) {
				d.fail(key("options.scenarios", sc.Name), "%s function %q is not defined at the top level of the script", fn.what, fn.name)
			}
		}
	}
	o.Thresholds = d.thresholds(t.Thresholds, script)
	if err := d.err(); err != nil {
		return nil, err
	}
	return o, nil
}

// memory resolves options.memory.
func (d *decoder) memory(t memoryTable) MemoryOptions {
	mo := MemoryOptions{Interval: time.Duration(t.Interval), WarmUp: time.Duration(t.WarmUp),
		Warn: metrics.DefaultWarnBytes, Fail: metrics.DefaultFailBytes}
	if t.Warn != nil {
		mo.Warn = uint64(*t.Warn)
	}
	if t.Fail != nil {
		mo.Fail = uint64(*t.Fail)
	}
	if mo.Interval != 0 && mo.Interval < time.Millisecond {
		d.fail("options.memory.interval", "%v is below the 1ms minimum", mo.Interval)
	}
	if mo.Warn > mo.Fail && !d.has("options.memory.warn") && !d.has("options.memory.fail") {
		d.fail("options.memory", "warn (%d bytes) is above fail (%d bytes)", mo.Warn, mo.Fail)
	}
	return mo
}

// tasks resolves options.tasks.
func (d *decoder) tasks(t tasksTable) TaskOptions {
	if t.Workers > 10000 {
		d.fail("options.tasks.workers", "%d is over the limit of 10000", t.Workers)
	}
	o := TaskOptions{Workers: t.Workers, Queue: t.Queue, Rate: t.Rate, Burst: t.Burst, Timeout: time.Duration(t.Timeout),
		Budget: t.Budget, Keep: t.Keep, KeepFor: time.Duration(t.KeepFor),
		Backend: t.Backend, NATS: t.NATS, Namespace: t.Namespace, Remote: t.Local != nil && !*t.Local}
	switch o.Backend {
	case "", "memory", "jetstream":
	default:
		d.fail("options.tasks.backend", "%q: want \"memory\" or \"jetstream\"", o.Backend)
	}
	if o.NATS != "" && o.Backend == "memory" {
		d.fail("options.tasks.nats", "a NATS URL goes with backend = \"jetstream\", not \"memory\"")
	}
	if (o.Namespace != "" || o.Remote) && o.Backend != "jetstream" && o.NATS == "" {
		d.fail("options.tasks", "namespace and local = false go with backend = \"jetstream\"")
	}
	return o
}

// scenario decodes and resolves one entry of options.scenarios. It
// returns a scenario even when the entry has problems (they are
// recorded), so the checks across scenarios (startAfter, --scenario) do
// not report it missing.
func (d *decoder) scenario(name string, v any) *Scenario {
	path := key("options.scenarios", name)
	sc := &Scenario{Name: name}
	if name == "" || strings.ContainsAny(name, "=,{}: \n") {
		d.fail(path, "scenario name %q: want letters, digits, '_' or '-'", name)
	}
	var t scenarioTable
	t.decodeOption(d, path, v)
	at := func(field string) string { return path + "." + field }
	// positive and required read a count that must be at least 1; a
	// required one must be present.
	positive := func(field string, p *int, def int) int {
		if p == nil {
			return def
		}
		if *p < 1 {
			d.fail(at(field), "must be at least 1")
		}
		return *p
	}
	required := func(field string, p *int) int {
		if p == nil && !d.has(at(field)) {
			d.fail(path, "missing %s", field)
		}
		return positive(field, p, 0)
	}
	count := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	dur := func(p *duration, def time.Duration) time.Duration {
		if p == nil {
			return def
		}
		return time.Duration(*p)
	}
	requiredDuration := func(field string, p *duration) time.Duration {
		switch {
		case p == nil && !d.has(at(field)):
			d.fail(path, "missing %s (e.g. \"30s\")", field)
		case p != nil && *p <= 0:
			d.fail(at(field), "must be positive")
		}
		return dur(p, 0)
	}
	stages := func() []Stage {
		if t.Stages == nil {
			if !d.has(at("stages")) {
				d.fail(path, "missing stages, e.g. {{duration = \"10s\", target = 20}}")
			}
			return nil
		}
		return *t.Stages
	}
	sc.Executor = t.Executor
	sc.Exec = "default"
	if t.Exec != nil {
		sc.Exec = *t.Exec
	}
	sc.StartTime = time.Duration(t.StartTime)
	sc.StartAfter = t.StartAfter
	sc.GracefulStop = dur(t.GracefulStop, DefaultGracefulStop)
	sc.Timeout = time.Duration(t.Timeout)
	sc.Setup, sc.Teardown = t.Setup, t.Teardown
	sc.Tags = t.Tags
	switch sc.Executor {
	case SharedIterations, PerVUIterations:
		sc.VUs = positive("vus", t.VUs, 1)
		sc.Iterations = positive("iterations", t.Iterations, 1)
		sc.MaxDuration = dur(t.MaxDuration, DefaultMaxDuration)
		if sc.Executor == SharedIterations && sc.Iterations < sc.VUs && !d.has(at("vus")) && !d.has(at("iterations")) {
			d.fail(path, "iterations (%d) must be at least vus (%d) for shared-iterations", sc.Iterations, sc.VUs)
		}
	case ConstantVUs:
		sc.VUs = positive("vus", t.VUs, 1)
		sc.Duration = requiredDuration("duration", t.Duration)
	case RampingVUs:
		sc.StartVUs = count(t.StartVUs, 1)
		sc.Stages = stages()
		sc.GracefulRampDown = dur(t.GracefulRampDown, DefaultGracefulRampDown)
	case ConstantArrivalRate:
		sc.Rate = required("rate", t.Rate)
		sc.TimeUnit = dur(t.TimeUnit, time.Second)
		sc.Duration = requiredDuration("duration", t.Duration)
		sc.PreAllocatedVUs = required("preAllocatedVUs", t.PreAllocatedVUs)
		sc.MaxVUs = count(t.MaxVUs, sc.PreAllocatedVUs)
	case RampingArrivalRate:
		sc.StartRate = count(t.StartRate, 0)
		sc.TimeUnit = dur(t.TimeUnit, time.Second)
		sc.Stages = stages()
		sc.PreAllocatedVUs = required("preAllocatedVUs", t.PreAllocatedVUs)
		sc.MaxVUs = count(t.MaxVUs, sc.PreAllocatedVUs)
	default:
		return sc // the executor is reported: nothing more can be checked
	}
	if sc.MaxVUs > 0 && sc.MaxVUs < sc.PreAllocatedVUs && !d.has(at("maxVUs")) && !d.has(at("preAllocatedVUs")) {
		d.fail(path, "maxVUs (%d) is below preAllocatedVUs (%d)", sc.MaxVUs, sc.PreAllocatedVUs)
	}
	if sc.TimeUnit == 0 && (sc.Executor == ConstantArrivalRate || sc.Executor == RampingArrivalRate) && !d.has(at("timeUnit")) {
		d.fail(at("timeUnit"), "must be positive")
	}
	for _, f := range []struct {
		field string
		n     int
	}{{"vus", sc.VUs}, {"maxVUs", sc.MaxVUs}, {"startVUs", sc.StartVUs}} {
		if f.n > maxVUs {
			d.fail(at(f.field), "%d is more than %d VUs", f.n, maxVUs)
		}
	}
	for i, st := range sc.Stages {
		if sc.Executor == RampingVUs && st.Target > maxVUs {
			d.fail(fmt.Sprintf("%s[%d].target", at("stages"), i+1), "%d is more than %d VUs", st.Target, maxVUs)
		}
	}
	return sc
}

// checkStartAfter checks that startAfter names scenarios of this run and
// makes no cycle.
func (d *decoder) checkStartAfter(scs []*Scenario) {
	byName := map[string]*Scenario{}
	for _, sc := range scs {
		byName[sc.Name] = sc
	}
	missing := false
	for _, sc := range scs {
		for _, dep := range sc.StartAfter {
			if _, ok := byName[dep]; !ok {
				d.fail(key("options.scenarios", sc.Name)+".startAfter", "no scenario %q in this run", dep)
				missing = true
			}
		}
	}
	if missing {
		return
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) bool
	visit = func(name string, path []string) bool {
		switch state[name] {
		case 1:
			d.fail("options.scenarios", "startAfter makes a cycle: %s -> %s", strings.Join(path, " -> "), name)
			return false
		case 2:
			return true
		}
		state[name] = 1
		for _, dep := range byName[name].StartAfter {
			if !visit(dep, append(path, name)) {
				return false
			}
		}
		state[name] = 2
		return true
	}
	for _, sc := range scs {
		if !visit(sc.Name, nil) {
			return
		}
	}
}

// thresholds parses options.thresholds against the script's metrics.
func (d *decoder) thresholds(t map[string]thresholdList, script Script) []*metrics.Threshold {
	var out []*metrics.Threshold
	for _, k := range sortedKeys(t) {
		path := key("options.thresholds", k)
		q, err := metrics.ParseQuery(k)
		if err != nil {
			d.fail(path, "%v", err)
			continue
		}
		var def *metrics.Def
		ok := false
		if script.Metric != nil {
			def, ok = script.Metric(q.Metric)
		}
		if !ok {
			d.fail(path, "no metric %q; declare custom metrics at the top level of the script with Metrics.counter/gauge/rate/trend", q.Metric)
			continue
		}
		for i, it := range t[k] {
			th, err := metrics.ParseThreshold(q, it.Threshold, def)
			if err != nil {
				d.fail(fmt.Sprintf("%s[%d]", path, i+1), "%v", err)
				continue
			}
			th.AbortOnFail, th.DelayAbortEval = it.AbortOnFail, time.Duration(it.DelayAbortEval)
			out = append(out, th)
		}
	}
	return out
}
