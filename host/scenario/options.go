package scenario

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
)

// Executor names, as in k6.
const (
	SharedIterations    = "shared-iterations"
	PerVUIterations     = "per-vu-iterations"
	ConstantVUs         = "constant-vus"
	RampingVUs          = "ramping-vus"
	ConstantArrivalRate = "constant-arrival-rate"
	RampingArrivalRate  = "ramping-arrival-rate"
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
	// thresholds as written, checked against the store once the script's
	// own metrics are declared.
	rawThresholds []rawThreshold
}

type rawThreshold struct {
	query          metrics.Query
	expr           string
	abortOnFail    bool
	delayAbortEval time.Duration
}

// optionsError is an invalid option; it exits 104.
type optionsError struct{ msg string }

func (e *optionsError) Error() string { return "invalid options: " + e.msg }

func optErr(format string, args ...any) error {
	return &optionsError{msg: fmt.Sprintf(format, args...)}
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

// ParseOptions reads the script's options table (nil when the script set
// none). hasDefault says whether the script defines a global default().
func ParseOptions(raw any, hasDefault bool, ov Overrides) (*Options, error) {
	o := &Options{SetupTimeout: DefaultSetupTimeout, TeardownTimeout: DefaultTeardownTimeout}
	m := map[string]any{}
	if raw != nil {
		var ok bool
		if m, ok = raw.(map[string]any); !ok {
			return nil, optErr("options must be a table with named fields, got %s", kindOf(raw))
		}
	}
	r := reader{path: "options", m: m}
	scen := r.table("scenarios")
	thr := r.table("thresholds")
	o.SetupTimeout = r.timeout("setupTimeout", DefaultSetupTimeout)
	o.TeardownTimeout = r.timeout("teardownTimeout", DefaultTeardownTimeout)
	vus, iters, dur := r.int("vus", 0), r.int("iterations", 0), r.duration("duration", 0)
	mem := r.sub("memory")
	o.Memory = MemoryOptions{
		Interval: mem.duration("interval", 0),
		WarmUp:   mem.duration("warmUp", 0),
		Warn:     mem.bytes("warn", metrics.DefaultWarnBytes),
		Fail:     mem.bytes("fail", metrics.DefaultFailBytes),
	}
	mem.done()
	tk := r.sub("tasks")
	o.Tasks = TaskOptions{
		Workers: tk.int("workers", 0), Queue: tk.int("queue", 0), Rate: tk.int("rate", 0), Burst: tk.int("burst", 0),
		Timeout: tk.timeout("timeout", 0), Budget: tk.int("budget", 0), Keep: tk.int("keep", 0), KeepFor: tk.duration("keepFor", 0),
		Backend: tk.string("backend", ""), NATS: tk.string("nats", ""), Namespace: tk.string("namespace", ""),
		Remote: !tk.bool("local", true),
	}
	tk.done()
	r.done()
	if r.err != nil {
		return nil, r.err
	}
	if mem.err != nil {
		return nil, mem.err
	}
	if tk.err != nil {
		return nil, tk.err
	}
	switch o.Tasks.Backend {
	case "", "memory", "jetstream":
	default:
		return nil, optErr("options.tasks.backend: %q: want \"memory\" or \"jetstream\"", o.Tasks.Backend)
	}
	if o.Tasks.NATS != "" && o.Tasks.Backend == "memory" {
		return nil, optErr("options.tasks.nats: a NATS URL goes with backend = \"jetstream\", not \"memory\"")
	}
	if (o.Tasks.Namespace != "" || o.Tasks.Remote) && o.Tasks.Backend != "jetstream" && o.Tasks.NATS == "" {
		return nil, optErr("options.tasks.namespace and local = false go with backend = \"jetstream\"")
	}
	if o.Tasks.Workers > 10000 {
		return nil, optErr("options.tasks.workers: %d is over the limit of 10000", o.Tasks.Workers)
	}
	if o.Memory.Interval != 0 && o.Memory.Interval < time.Millisecond {
		return nil, optErr("options.memory.interval: %v is below the 1ms minimum", o.Memory.Interval)
	}
	if o.Memory.Warn > o.Memory.Fail {
		return nil, optErr("options.memory: warn (%d bytes) is above fail (%d bytes)", o.Memory.Warn, o.Memory.Fail)
	}

	// Command-line shortcuts win over the script, as in k6.
	if ov.VUs > 0 || ov.Iterations > 0 || ov.Duration > 0 {
		vus, iters, dur, scen = ov.VUs, ov.Iterations, ov.Duration, nil
	}
	switch {
	case scen != nil:
		names := make([]string, 0, len(scen))
		for name := range scen {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			sc, err := parseScenario(name, scen[name])
			if err != nil {
				return nil, err
			}
			o.Scenarios = append(o.Scenarios, sc)
		}
		if len(o.Scenarios) == 0 {
			return nil, optErr("options.scenarios is empty")
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
			return nil, optErr("--vus/--iterations/--duration run the script's default function, and it defines none")
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
				return nil, optErr("--scenario %s: no such scenario; the script has: %s", want, strings.Join(have, ", "))
			}
			kept = append(kept, o.Scenarios[i])
		}
		o.Scenarios = kept
	}
	if err := checkStartAfter(o.Scenarios); err != nil {
		return nil, err
	}
	for _, q := range sortedKeys(thr) {
		if err := o.addThresholds(q, thr[q]); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// checkStartAfter checks that startAfter names scenarios of this run and
// makes no cycle.
func checkStartAfter(scs []*Scenario) error {
	byName := map[string]*Scenario{}
	for _, sc := range scs {
		byName[sc.Name] = sc
	}
	for _, sc := range scs {
		for _, dep := range sc.StartAfter {
			if _, ok := byName[dep]; !ok {
				return optErr("options.scenarios.%s.startAfter: no scenario %q in this run", sc.Name, dep)
			}
		}
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return optErr("options.scenarios: startAfter makes a cycle: %s -> %s", strings.Join(path, " -> "), name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, dep := range byName[name].StartAfter {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		return nil
	}
	for _, sc := range scs {
		if err := visit(sc.Name, nil); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// addThresholds reads one entry of options.thresholds: a string, a list of
// strings, or a list of {threshold, abortOnFail, delayAbortEval} tables.
func (o *Options) addThresholds(key string, v any) error {
	q, err := metrics.ParseQuery(key)
	if err != nil {
		return optErr("options.thresholds: %v", err)
	}
	var items []any
	switch x := v.(type) {
	case string:
		items = []any{x}
	case []any:
		items = x
	case map[string]any:
		items = []any{x}
	default:
		return optErr("options.thresholds[%q]: want a string or a list, got %s", key, kindOf(v))
	}
	for i, it := range items {
		path := fmt.Sprintf("options.thresholds[%q][%d]", key, i+1)
		switch x := it.(type) {
		case string:
			o.rawThresholds = append(o.rawThresholds, rawThreshold{query: q, expr: x})
		case map[string]any:
			r := reader{path: path, m: x}
			rt := rawThreshold{query: q, expr: r.string("threshold", "")}
			rt.abortOnFail = r.bool("abortOnFail", false)
			rt.delayAbortEval = r.duration("delayAbortEval", 0)
			r.done()
			if r.err != nil {
				return r.err
			}
			if rt.expr == "" {
				return optErr("%s: missing threshold = \"...\"", path)
			}
			o.rawThresholds = append(o.rawThresholds, rt)
		default:
			return optErr("%s: want a string or a table, got %s", path, kindOf(it))
		}
	}
	return nil
}

// ResolveThresholds parses the thresholds against the store, where the
// script's own metrics are declared by now.
func (o *Options) ResolveThresholds(st *metrics.Store) error {
	o.Thresholds = o.Thresholds[:0]
	for _, rt := range o.rawThresholds {
		def, ok := st.Def(rt.query.Metric)
		if !ok {
			return optErr("options.thresholds: no metric %q; declare custom metrics at the top level of the script with Metrics.counter/gauge/rate/trend", rt.query.Metric)
		}
		t, err := metrics.ParseThreshold(rt.query, rt.expr, def)
		if err != nil {
			return optErr("options.thresholds: %v", err)
		}
		t.AbortOnFail, t.DelayAbortEval = rt.abortOnFail, rt.delayAbortEval
		o.Thresholds = append(o.Thresholds, t)
	}
	return nil
}

func parseScenario(name string, v any) (*Scenario, error) {
	path := fmt.Sprintf("options.scenarios.%s", name)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, optErr("%s: want a table, got %s", path, kindOf(v))
	}
	if name == "" || strings.ContainsAny(name, "=,{}: \n") {
		return nil, optErr("scenario name %q: want letters, digits, '_' or '-'", name)
	}
	r := reader{path: path, m: m}
	sc := &Scenario{Name: name}
	sc.Executor = r.string("executor", "")
	sc.Exec = r.string("exec", "default")
	sc.StartTime = r.duration("startTime", 0)
	sc.StartAfter = r.names("startAfter")
	sc.GracefulStop = r.duration("gracefulStop", DefaultGracefulStop)
	sc.Timeout = r.timeout("timeout", 0)
	sc.Setup = r.string("setup", "")
	sc.Teardown = r.string("teardown", "")
	sc.Tags = r.tags("tags")
	switch sc.Executor {
	case SharedIterations, PerVUIterations:
		sc.VUs = r.positive("vus", 1)
		sc.Iterations = r.positive("iterations", 1)
		sc.MaxDuration = r.duration("maxDuration", DefaultMaxDuration)
		if sc.Executor == SharedIterations && sc.Iterations < sc.VUs {
			r.fail("iterations (%d) must be at least vus (%d) for shared-iterations", sc.Iterations, sc.VUs)
		}
	case ConstantVUs:
		sc.VUs = r.positive("vus", 1)
		sc.Duration = r.requiredDuration("duration")
	case RampingVUs:
		sc.StartVUs = r.nonNegative("startVUs", 1)
		sc.Stages = r.stages("stages")
		sc.GracefulRampDown = r.duration("gracefulRampDown", DefaultGracefulRampDown)
	case ConstantArrivalRate:
		sc.Rate = r.requiredPositive("rate")
		sc.TimeUnit = r.duration("timeUnit", time.Second)
		sc.Duration = r.requiredDuration("duration")
		sc.PreAllocatedVUs = r.requiredPositive("preAllocatedVUs")
		sc.MaxVUs = r.nonNegative("maxVUs", sc.PreAllocatedVUs)
	case RampingArrivalRate:
		sc.StartRate = r.nonNegative("startRate", 0)
		sc.TimeUnit = r.duration("timeUnit", time.Second)
		sc.Stages = r.stages("stages")
		sc.PreAllocatedVUs = r.requiredPositive("preAllocatedVUs")
		sc.MaxVUs = r.nonNegative("maxVUs", sc.PreAllocatedVUs)
	case "":
		r.fail("missing executor; one of %s", strings.Join(Executors, ", "))
	default:
		r.fail("unknown executor %q; one of %s", sc.Executor, strings.Join(Executors, ", "))
	}
	r.done()
	if r.err != nil {
		return nil, r.err
	}
	if sc.MaxVUs > 0 && sc.MaxVUs < sc.PreAllocatedVUs {
		return nil, optErr("%s: maxVUs (%d) is below preAllocatedVUs (%d)", path, sc.MaxVUs, sc.PreAllocatedVUs)
	}
	if sc.TimeUnit < 0 || (sc.TimeUnit == 0 && (sc.Executor == ConstantArrivalRate || sc.Executor == RampingArrivalRate)) {
		return nil, optErr("%s: timeUnit must be positive", path)
	}
	if sc.VUs > maxVUs || sc.MaxVUs > maxVUs || sc.StartVUs > maxVUs {
		return nil, optErr("%s: more than %d VUs", path, maxVUs)
	}
	for _, st := range sc.Stages {
		if (sc.Executor == RampingVUs) && st.Target > maxVUs {
			return nil, optErr("%s: a stage targets %d VUs, over %d", path, st.Target, maxVUs)
		}
	}
	return sc, nil
}

// maxVUs caps the VUs one scenario may ask for.
const maxVUs = 100_000

// reader reads a table's fields, remembering which it saw so unknown
// fields are reported, and the first error.
type reader struct {
	path string
	m    map[string]any
	seen map[string]bool
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = optErr("%s: %s", r.path, fmt.Sprintf(format, args...))
	}
}

func (r *reader) get(key string) (any, bool) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[key] = true
	v, ok := r.m[key]
	return v, ok && v != nil
}

// done reports fields nobody read.
func (r *reader) done() {
	var unknown []string
	for k := range r.m {
		if !r.seen[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var known []string
		for k := range r.seen {
			known = append(known, k)
		}
		sort.Strings(known)
		r.fail("unknown field %s (known here: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
}

func (r *reader) string(key, def string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail("%s: want a string, got %s", key, kindOf(v))
	}
	return s
}

func (r *reader) bool(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		r.fail("%s: want true or false, got %s", key, kindOf(v))
	}
	return b
}

func (r *reader) int(key string, def int) int {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	f, isNum := v.(float64)
	if !isNum || f != math.Trunc(f) || f < 0 || f > 1e9 {
		r.fail("%s: want a whole number from 0, got %v", key, v)
		return def
	}
	return int(f)
}

func (r *reader) nonNegative(key string, def int) int { return r.int(key, def) }

func (r *reader) positive(key string, def int) int {
	n := r.int(key, def)
	if n < 1 && r.err == nil {
		r.fail("%s: must be at least 1", key)
	}
	return n
}

func (r *reader) requiredPositive(key string) int {
	if _, ok := r.m[key]; !ok {
		r.get(key)
		r.fail("missing %s", key)
		return 0
	}
	return r.positive(key, 0)
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	d, err := kernel.ParseDuration(v)
	if err != nil {
		r.fail("%s: %v", key, err)
		return def
	}
	return d
}

// timeout reads a timeout: a positive value under kernel.MinTimeout is an
// error, not zero (which would mean no timeout, or the default).
func (r *reader) timeout(key string, def time.Duration) time.Duration {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	d, err := kernel.ParseTimeout(v)
	if err != nil {
		r.fail("%s: %v", key, err)
		return def
	}
	return d
}

func (r *reader) requiredDuration(key string) time.Duration {
	if _, ok := r.m[key]; !ok {
		r.get(key)
		r.fail("missing %s (e.g. \"30s\")", key)
		return 0
	}
	d := r.duration(key, 0)
	if d <= 0 && r.err == nil {
		r.fail("%s: must be positive", key)
	}
	return d
}

func (r *reader) bytes(key string, def uint64) uint64 {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case float64:
		if x >= 0 {
			return uint64(x)
		}
	case string:
		if b, err := parseBytes(x); err == nil {
			return b
		}
	}
	r.fail("%s: want a size such as \"20MB\" or a number of bytes, got %v", key, v)
	return def
}

// names reads a scenario name or a list of them.
func (r *reader) names(key string) []string {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, it := range x {
			s, isStr := it.(string)
			if !isStr {
				r.fail("%s: want scenario names, got %s", key, kindOf(it))
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	r.fail("%s: want a scenario name or a list of names, got %s", key, kindOf(v))
	return nil
}

func (r *reader) table(key string) map[string]any {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.fail("%s: want a table with named fields, got %s", key, kindOf(v))
	}
	return m
}

func (r *reader) sub(key string) *reader {
	m := r.table(key)
	if m == nil {
		m = map[string]any{}
	}
	return &reader{path: r.path + "." + key, m: m}
}

func (r *reader) tags(key string) map[string]string {
	m := r.table(key)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			if f, isNum := v.(float64); isNum {
				s = fmt.Sprint(f)
			} else {
				r.fail("tags.%s: want a string, got %s", k, kindOf(v))
				continue
			}
		}
		if err := metrics.CheckTag(k); err != nil {
			r.fail("tags: %v", err)
		}
		if err := metrics.CheckTag(s); err != nil {
			r.fail("tags.%s: %v", k, err)
		}
		if k == "scenario" {
			r.fail("tags: \"scenario\" is set by spellhost to the scenario's name")
		}
		out[k] = s
	}
	return out
}

func (r *reader) stages(key string) []Stage {
	v, ok := r.get(key)
	if !ok {
		r.fail("missing %s, e.g. {{duration = \"10s\", target = 20}}", key)
		return nil
	}
	list, isList := v.([]any)
	if !isList || len(list) == 0 {
		r.fail("%s: want a non-empty list of {duration, target}", key)
		return nil
	}
	var out []Stage
	for i, it := range list {
		m, isMap := it.(map[string]any)
		if !isMap {
			r.fail("%s[%d]: want {duration, target}, got %s", key, i+1, kindOf(it))
			return nil
		}
		sr := reader{path: fmt.Sprintf("%s.%s[%d]", r.path, key, i+1), m: m}
		st := Stage{Duration: sr.duration("duration", -1), Target: sr.int("target", -1)}
		sr.done()
		if sr.err != nil {
			if r.err == nil {
				r.err = sr.err
			}
			return nil
		}
		if st.Duration < 0 || st.Target < 0 {
			r.fail("%s[%d]: needs both duration and target", key, i+1)
			return nil
		}
		out = append(out, st)
	}
	return out
}

func parseBytes(s string) (uint64, error) { return humanize.ParseBytes(s) }

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}
