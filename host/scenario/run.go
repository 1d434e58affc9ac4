// Package scenario runs a spellhost script: it compiles it once, starts
// the kernel and the VUs, drives the executors (shared-iterations,
// per-vu-iterations, constant-vus, ramping-vus, constant-arrival-rate,
// ramping-arrival-rate) through setup, the iterations and teardown, and
// enforces the run's limits: --timeout, --max-memory and the watchdog.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/luavm"
	"spellhost/host/memlimit"
	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/result"
	"spellhost/host/task/durable"
	"spellhost/tools"
	"spellhost/tools/perm"
)

// Config is one run.
type Config struct {
	// Script is the path of the Lua script; Args reach it as ARGS.
	Script string
	Args   []string
	// Timeout bounds the whole run (0: none).
	Timeout time.Duration
	// MaxMemory stops the run when the process's RSS exceeds it (0: none).
	MaxMemory uint64
	// MaxSeries caps the series (tag sets) of one metric (0: the default,
	// metrics.DefaultMaxSeries); values for series past it are dropped and
	// counted.
	MaxSeries int
	// MemoryInterval is how often memory is sampled (default 100ms).
	MemoryInterval time.Duration
	// ToolTimeout is the default timeout of a tool call (default 30s).
	ToolTimeout time.Duration
	// MaxRequestBytes caps a protocol request (default 64 MiB).
	MaxRequestBytes int
	// Perm is the permission set of the script's own built-ins (env,
	// require); the tools carry theirs.
	Perm *perm.Set
	// Registry makes the run's tool registry; cmd/spellhost passes one
	// that builds the built-in set. Nil means a registry with no tools.
	Registry func() (*tools.Registry, error)
	// Seed seeds every random source of the run.
	Seed uint64
	// TaskStore is where options.tasks.backend = "jetstream" keeps tasks:
	// its credentials and TLS files (the URL comes from options.tasks.nats;
	// without one, an embedded server on a temporary folder).
	TaskStore durable.Connection
	// Lua limits and library.
	Limits luavm.Limits
	Lib    fs.FS
	// Overrides are the --vus, --iterations, --duration and --scenario flags.
	Overrides Overrides
	// Streams and environment.
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
	LogLevel       string
	// Progress, when set, receives the execution plan as the scenarios
	// start, then the run's progress: on a terminal (ProgressTerminal) a
	// status line redrawn every second, else a line every
	// ProgressInterval (default DefaultProgressInterval) and at the end.
	Progress         io.Writer
	ProgressTerminal bool
	ProgressInterval time.Duration
	// Points, when set, receives every metric's figures each second
	// (the --out per-second=FILE stream).
	Points PointWriter
	// Tap, when set, receives every value as it is recorded (the --out
	// json and csv streams), and the thresholds once known.
	Tap metrics.Tap
	// Charts, when set, receives each second's chart values (--dashboard).
	Charts LiveSink
	// InspectOnly stops the run once the options are resolved (after the
	// script's top level ran): the result's RunOptions holds them.
	InspectOnly bool
	// Faults are fault rules enabled before the script starts, each
	// TARGET=TERMS (the --fault flag and SPELLHOST_FAULTS).
	Faults []string
	// Live, when set, is attached to the run as it starts, so another
	// goroutine can build a result from what was recorded so far.
	Live *Live
	// Summary is what handleSummary's data says of the terminal and the
	// display options; NoHandleSummary skips the script's handleSummary
	// (--no-summary).
	Summary         report.SummaryState
	NoHandleSummary bool
	// SummaryTrendStats are the trend figures of the summary's totals
	// (--summary-trend-stats; default metrics.DefaultTrendStats).
	SummaryTrendStats []string
	// Env are the -e KEY=VALUE variables: the script's ENV table.
	Env map[string]string
	// Tags are the run's global tags from the command line (--tag); they
	// win over options.tags on the same key.
	Tags map[string]string
	// TestHook, when set, is called at named points of the run ("main",
	// "setup", "teardown", "iteration", and luavm's "call" and "task") so
	// tests can inject a panic there. Production runs leave it nil.
	TestHook func(point string)
}

// Live reads a run in progress: the CLI writes the summary files from it
// when a second interrupt quits at once, without waiting for the run to
// wind down. Safe for concurrent use.
type Live struct {
	mu sync.Mutex
	r  *runState
}

func (l *Live) attach(r *runState) {
	l.mu.Lock()
	l.r = r
	l.mu.Unlock()
}

// Snapshot returns a result built from what the run recorded so far, with
// status and stop reason taken from stop; values a VU had not yet flushed
// (at most its last 100ms) are missing. It returns nil before the run
// started.
func (l *Live) Snapshot(stop *StopError) *result.Run {
	l.mu.Lock()
	r := l.r
	l.mu.Unlock()
	if r == nil {
		return nil
	}
	res := &result.Run{Version: result.Version, Script: r.cfg.Script, Seed: r.cfg.Seed, Start: r.store.Start(),
		Status: stop.Status, StopReason: stop.Reason}
	r.live.Lock()
	res.TopToBottom = r.opts != nil && len(r.opts.Scenarios) == 0
	r.live.Unlock()
	r.finish(res, false)
	return res
}

// PointWriter receives the per-second figures of every series.
type PointWriter interface {
	WritePoints(t time.Time, elapsed time.Duration, ws []metrics.Window) error
}

// StopError is why a run was stopped before its end: a limit fired or the
// user interrupted it. It carries the exit code.
type StopError struct {
	Reason  string
	Status  string
	Code    exitcode.Code
	timeout bool
}

func (e *StopError) Error() string { return e.Reason }

// Is lets timeouts match context.DeadlineExceeded and tools.ErrTimeout.
func (e *StopError) Is(target error) bool {
	return e.timeout && (target == context.DeadlineExceeded || target == tools.ErrTimeout)
}

// Interrupted is the cause a caller gives when SIGINT or SIGTERM arrives.
var Interrupted = &StopError{Reason: "interrupted by a signal", Status: "interrupted", Code: exitcode.Interrupted}

// runState is one run in progress.
type runState struct {
	cfg   Config
	prog  *luavm.Program
	env   *luavm.Env
	k     *kernel.Kernel
	store *metrics.Store
	host  *hostRecorder
	// global are the run's global tags: --tag until the options are
	// resolved, then options.tags under them.
	global  map[string]string
	opts    *Options
	vm0     *luavm.VM
	vm0mu   sync.Mutex
	vm0Lost bool // vm0's top level ran away: it is abandoned, not closed
	// sampling is set while scenarios run: the memory sampler then
	// records vus and vus_max too.
	sampling   atomic.Bool
	data       any
	iterations atomic.Int64
	active     atomic.Int64
	nextID     atomic.Int64
	cancel     context.CancelCauseFunc
	scenarios  []*scenarioRun
	vus        []*VU
	vusMu      sync.Mutex
	timeline   metrics.Timeline
	curves     metrics.Curves
	tlMu       sync.Mutex
	sampler    *metrics.Sampler
	mem        *memlimit.Limiter
	aborted    []*metrics.Threshold
	// lastProgress and lastComplete are the time and the iterations of
	// the last progress line (guarded by tlMu).
	lastProgress time.Time
	lastComplete int64
	// live guards opts and scenarios against Live.Snapshot, which reads
	// them from another goroutine while the run sets them.
	live  sync.Mutex
	bugMu sync.Mutex
	bug   *luavm.InternalError // the first bug in spellhost caught in the run
}

// newRegistry makes the run's registry with build, or an empty one.
func newRegistry(build func() (*tools.Registry, error)) (*tools.Registry, error) {
	if build == nil {
		return tools.NewRegistry()
	}
	return build()
}

// Run runs the script. It returns the result (nil when the script could
// not start, or its options are invalid: ErrInvalidOptions) and an error
// carrying the exit code: nil for a run whose thresholds passed.
func Run(ctx context.Context, cfg Config) (*result.Run, error) {
	prog, err := luavm.CompileFile(cfg.Script)
	if err != nil {
		var se *luavm.SyntaxError
		if errors.As(err, &se) {
			return nil, exitcode.WithCodeIfNone(err, exitcode.ScriptException)
		}
		return nil, exitcode.WithCodeIfNone(err, exitcode.InvalidConfig)
	}
	reg, err := newRegistry(cfg.Registry)
	if err != nil {
		return nil, err
	}
	faults := fault.New(cfg.Seed)
	defer faults.Close()
	for _, a := range cfg.Faults {
		sp, err := fault.ParseAssignment(a)
		if err == nil {
			err = faults.Enable(sp)
		}
		if err != nil {
			return nil, exitcode.WithCodeIfNone(fmt.Errorf("--fault: %w", err), exitcode.InvalidConfig)
		}
	}
	r := &runState{cfg: cfg, prog: prog, store: metrics.NewStore(), global: maps.Clone(cfg.Tags)}
	r.store.SetMaxSeries(cfg.MaxSeries)
	if cfg.Tap != nil {
		r.store.SetTap(cfg.Tap)
	}
	r.host = newHostRecorder(r.store)
	r.host.setGlobal(r.global)
	k := kernel.New(reg, kernel.Options{DefaultTimeout: cfg.ToolTimeout, MaxRequestBytes: cfg.MaxRequestBytes, Faults: faults,
		OnTaskTool: r.taskToolCall})
	defer k.Close()
	r.k = k
	k.ConfigureTasks(r.taskConfig(TaskOptions{})) // defaults until the options say otherwise
	r.env = &luavm.Env{
		Kernel: k, Perm: cfg.Perm, LookupEnv: cfg.LookupEnv,
		Stdout: cfg.Stdout, Log: cfg.Stderr, LogLevel: cfg.LogLevel,
		Args: cfg.Args, ENV: cfg.Env, Seed: cfg.Seed, Lib: cfg.Lib, Limits: cfg.Limits, Start: r.store.Start(),
		OnInternalError: r.internal, TestHook: cfg.TestHook, Metrics: r.store,
	}
	r.env.SetTags(r.global)
	defer func() { k.Close(); r.env.Close() }() // the task workers stop before their Lua states close

	// The run's context: --timeout, --max-memory, abort(), signals.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	if cfg.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, cfg.Timeout, &StopError{
			Reason: fmt.Sprintf("the run's --timeout of %v fired", cfg.Timeout), Status: "timeout",
			Code: exitcode.Timeout, timeout: true})
		defer stop()
	}
	// --max-memory: the runtime's soft limit, a fast watcher, and the
	// allocation checks of the Lua bindings (env.MemLimit).
	r.mem = memlimit.Start(cfg.MaxMemory, func(e *memlimit.Exceeded) {
		r.cancel(&StopError{Code: exitcode.MemoryLimit, Status: "memory_limit", Reason: e.Error()})
	})
	defer r.mem.Stop()
	r.env.MemLimit = r.mem
	stopSampler := r.startSampler()
	if cfg.Live != nil {
		cfg.Live.attach(r)
	}
	res, err := r.executeSafely(ctx)
	defer func() {
		if r.vm0 != nil && !r.vm0Lost {
			r.vm0.Close()
		}
	}()
	// Tasks still queued or running end now, cancelled and counted, so
	// the summary's accounting is final.
	k.StopTasks()
	stopSampler()
	if errors.Is(err, ErrInvalidOptions) {
		res = nil // no scenario started: there is nothing to summarise
	}
	if r.cfg.InspectOnly && err == nil {
		return res, nil
	}
	if res != nil {
		if r.mem.Fired() {
			// The script's memory is garbage now that its states are
			// closed: give it back before the summary is built.
			debug.FreeOSMemory()
		}
		r.finish(res, true)
	}
	err = r.exitError(ctx, res, err)
	if res != nil && !r.cfg.InspectOnly {
		r.handleSummary(ctx, res, err)
	}
	return res, err
}

func (r *runState) startSampler() func() {
	interval := r.cfg.MemoryInterval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	r.sampler = metrics.NewSampler(interval, r.iterations.Load, func(m metrics.MemSample) {
		r.host.add(metrics.MemoryRSS, float64(m.RSS), nil)
		r.host.add(metrics.MemoryHeapLive, float64(m.HeapLive), nil)
		r.host.add(metrics.Goroutines, float64(m.Goroutines), nil)
		if r.sampling.Load() {
			r.sampleVUs()
		}
	})
	r.env.Memory = func() ([]metrics.MemSample, metrics.LeakConfig, metrics.MemSample) {
		lc := metrics.LeakConfig{WarnBytes: metrics.DefaultWarnBytes, FailBytes: metrics.DefaultFailBytes}
		if r.opts != nil {
			lc.WarnBytes, lc.FailBytes = r.opts.Memory.Warn, r.opts.Memory.Fail
		}
		return r.sampler.Samples(), lc, metrics.ReadMemory()
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.sampler.Run(sctx) }()
	return func() { stop(); <-done }
}

// execute runs the script's phases. Errors are classified by exitError.
func (r *runState) execute(ctx context.Context, res *result.Run) (*result.Run, error) {
	// The init context: the script's top level, once, in VU 0.
	vm0, err := luavm.New(r.env, r.prog, 0)
	if err != nil {
		return nil, err
	}
	r.vm0 = vm0
	vm0.Recorder = luavm.NewRecorder(r.store, r.store.NewBuffer(256, 100*time.Millisecond))
	vm0.Recorder.SetTags(r.global)
	vm0.OnAbort = r.abort
	err = Guard(ctx, func() error {
		r.hook("main")
		return vm0.RunMain(ctx)
	})
	if errors.Is(err, ErrRunaway) {
		r.vm0Lost = true // its Lua state may still run: never touch it again
		return res, err
	}
	vm0.Recorder.Buf.Flush()
	if err != nil {
		return res, err
	}
	rawOpts, err := vm0.FromLuaForeign(vm0.Global("options"), -1)
	if err != nil {
		return res, optErr("options: %v", err)
	}
	opts, err := ParseOptions(rawOpts, Script{HasFunction: vm0.HasFunction, Metric: r.store.Def}, r.cfg.Overrides)
	if err != nil {
		return res, err
	}
	// The global tags: options.tags under --tag, on every value from now on.
	global := maps.Clone(opts.Tags)
	if global == nil {
		global = map[string]string{}
	}
	maps.Copy(global, r.cfg.Tags)
	r.live.Lock()
	r.opts = opts
	r.global = global
	r.live.Unlock()
	r.host.setGlobal(global)
	r.env.SetTags(global)
	vm0.Recorder.SetTags(global)
	if r.cfg.Tap != nil {
		r.cfg.Tap.Thresholds(opts.Thresholds)
	}
	if opts.Memory.Interval > 0 {
		r.sampler.SetInterval(opts.Memory.Interval)
	}
	if opts.Tasks != (TaskOptions{}) {
		if err := r.k.ConfigureTasks(r.taskConfig(opts.Tasks)); err != nil {
			return res, optErr("options.tasks: %v", err)
		}
		if err := r.taskBackend(opts.Tasks); err != nil {
			return res, optErr("options.tasks: %v", err)
		}
	}
	if len(opts.Scenarios) == 0 {
		res.TopToBottom = true
		res.RunOptions = opts.Describe()
		return res, nil
	}
	if r.cfg.InspectOnly {
		res.RunOptions = opts.Describe()
		return res, nil
	}
	if r.cfg.Progress != nil {
		writePlan(r.cfg.Progress, r.cfg.Script, opts.Scenarios)
	}

	// Global setup, with its own timeout; its result reaches every VU.
	if fn := vm0.Global("setup"); fn.IsFunction() {
		v, err := r.callPhase(ctx, "setup", opts.SetupTimeout, exitcode.SetupTimeout, fn)
		if err != nil {
			return res, err
		}
		if r.data, err = vm0.FromLua(v, -1); err != nil {
			return res, fmt.Errorf("setup() returned a value that cannot reach the VUs: %w", err)
		}
	}
	err = r.runScenarios(ctx)
	// Global teardown runs even after an interruption, with a fresh
	// deadline; it is skipped after a memory or time limit.
	if fn := vm0.Global("teardown"); fn.IsFunction() && !r.limitHit(ctx) {
		tctx := context.WithoutCancel(ctx)
		if _, terr := r.callPhase(tctx, "teardown", opts.TeardownTimeout, exitcode.TeardownTimeout, fn, vm0.ToLua(r.data)); terr != nil && err == nil {
			err = terr
		}
	}
	return res, err
}

// limitHit reports whether a limit (not an interruption or abort) stopped
// the run, or a bug in spellhost did.
func (r *runState) limitHit(ctx context.Context) bool {
	var se *StopError
	return errors.As(context.Cause(ctx), &se) &&
		(se.Code == exitcode.Timeout || se.Code == exitcode.MemoryLimit || se.Code == exitcode.Panic)
}

// callPhase calls a lifecycle function in VU 0 under its own timeout.
func (r *runState) callPhase(ctx context.Context, name string, limit time.Duration, code exitcode.Code, fn luavm.Ref, args ...luavm.Ref) (luavm.Ref, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, limit, &StopError{
		Reason: fmt.Sprintf("%s() overran its %v timeout", name, limit), Status: "timeout", Code: code, timeout: true})
	defer cancel()
	r.vm0mu.Lock()
	defer r.vm0mu.Unlock()
	var out luavm.Ref
	err := Guard(pctx, func() error {
		if strings.HasSuffix(name, "setup") {
			r.hook("setup")
		} else {
			r.hook("teardown")
		}
		var err error
		out, err = r.vm0.Call(pctx, fn, args...)
		return err
	})
	r.vm0.Recorder.Buf.Flush()
	if err != nil {
		var stop *StopError
		if errors.As(context.Cause(pctx), &stop) && ctx.Err() == nil {
			return luavm.Ref{}, exitcode.WithCodeIfNone(stop, stop.Code)
		}
		return luavm.Ref{}, fmt.Errorf("%s(): %w", name, err)
	}
	return out, nil
}

// runScenarios initialises the VUs, then runs every scenario, each after
// its startTime, all in parallel.
func (r *runState) runScenarios(ctx context.Context) error {
	type prepared struct {
		sr      *scenarioRun
		ex      executor
		workers []Worker
	}
	var preps []prepared
	for _, sc := range r.opts.Scenarios {
		sr := r.newScenarioRun(sc)
		ex, err := newExecutor(sc)
		if err != nil {
			return err
		}
		workers, err := r.initVUs(ctx, sr, ex.initVUs())
		if err != nil {
			return err
		}
		r.live.Lock()
		r.scenarios = append(r.scenarios, sr)
		r.live.Unlock()
		preps = append(preps, prepared{sr, ex, workers})
	}
	r.sampling.Store(true)
	defer r.sampling.Store(false)
	stopCollector := r.startCollector(ctx)
	defer stopCollector()

	errs := make(chan error, len(preps))
	finished := map[string]chan struct{}{}
	for _, p := range preps {
		finished[p.sr.sc.Name] = make(chan struct{})
	}
	start := time.Now()
	for _, p := range preps {
		go func() {
			defer close(finished[p.sr.sc.Name])
			var err error
			defer func() { errs <- err }()
			defer r.recovered("scenario "+p.sr.sc.Name, &err)
			for _, dep := range p.sr.sc.StartAfter {
				select {
				case <-finished[dep]:
				case <-ctx.Done():
					return
				}
			}
			err = r.runScenario(ctx, p.sr, p.ex, p.workers)
		}()
	}
	// The watchdog: once the run's context ends, every iteration's
	// context has ended too (they derive from it), so the scenarios get
	// as long as Guard gives (the time they ran, 100ms to 2s) to return.
	var first error
	for range preps {
		var err error
		select {
		case err = <-errs:
		case <-ctx.Done():
			grace := min(max(time.Since(start), minGrace), maxGrace)
			t := time.NewTimer(grace)
			select {
			case err = <-errs:
			case <-t.C:
				err = fmt.Errorf("%w (%v after the run's end)", ErrRunaway, grace)
			}
			t.Stop()
		}
		if err != nil && first == nil {
			first = err
		}
		if errors.Is(err, ErrRunaway) {
			return err
		}
	}
	r.vusMu.Lock()
	for _, vu := range r.vus {
		vu.buf.Flush()
	}
	r.vusMu.Unlock()
	return first
}

func (r *runState) maxGracefulStop() time.Duration {
	var g time.Duration
	for _, sc := range r.opts.Scenarios {
		g = max(g, sc.GracefulStop, sc.GracefulRampDown)
	}
	return g
}

func (r *runState) newScenarioRun(sc *Scenario) *scenarioRun {
	// The scenario's values carry the global tags, the scenario's own
	// over them, and scenario=NAME.
	tags := maps.Clone(r.global)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, sc.Tags)
	tags["scenario"] = sc.Name
	def := func(name string) *metrics.Def { d, _ := r.store.Def(name); return d }
	return &scenarioRun{sc: sc, tags: metrics.Tags(tags), tagMap: tags, errs: &errorLog{},
		iterations: def(metrics.Iterations), duration: def(metrics.IterationDuration),
		service: def(metrics.IterationService), timeouts: def(metrics.IterationTimeouts),
		errorsDef: def(metrics.IterationErrors)}
}

// initVUs starts n VUs for a scenario, in parallel on every core.
func (r *runState) initVUs(ctx context.Context, sr *scenarioRun, n int) ([]Worker, error) {
	workers := make([]Worker, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				func() {
					defer r.recovered("starting a VU", &errs[i])
					workers[i], errs[i] = r.newVU(ctx, sr)
				}()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return workers, nil
}

// newVU makes one VU: a Lua state that has run the script's top level.
func (r *runState) newVU(ctx context.Context, sr *scenarioRun) (*VU, error) {
	id := int(r.nextID.Add(1))
	vm, err := luavm.New(r.env, r.prog, id)
	if err != nil {
		return nil, err
	}
	buf := r.store.NewBuffer(256, 100*time.Millisecond)
	rec := luavm.NewRecorder(r.store, buf)
	rec.SetTags(sr.tagMap)
	vm.Recorder = rec
	vm.SetScenario(sr.sc.Name)
	vm.OnAbort = r.abort
	if err := vm.RunMain(ctx); err != nil {
		vm.Close()
		return nil, fmt.Errorf("VU %d: %w", id, err)
	}
	vu := &VU{id: id, vm: vm, rec: rec, buf: buf, run: r, sr: sr, fn: vm.Global(sr.sc.Exec),
		data: vm.ToLua(r.data)}
	r.vusMu.Lock()
	r.vus = append(r.vus, vu)
	r.vusMu.Unlock()
	return vu, nil
}

// runScenario waits for the scenario's start time, runs its setup, its
// executor and its teardown.
func (r *runState) runScenario(ctx context.Context, sr *scenarioRun, ex executor, workers []Worker) error {
	sc := sr.sc
	if sc.StartTime > 0 {
		t := time.NewTimer(sc.StartTime)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
	sr.mu.Lock()
	sr.started = time.Now()
	sr.mu.Unlock()
	sr.begun.Store(true)
	defer func() {
		sr.mu.Lock()
		sr.ended = time.Now()
		sr.mu.Unlock()
	}()
	if sc.Setup != "" {
		v, err := r.callPhase(ctx, "scenario "+sc.Name+" setup", r.opts.SetupTimeout, exitcode.SetupTimeout, r.vm0.Global(sc.Setup), r.vm0.ToLua(r.data))
		if err != nil {
			return err
		}
		if sr.data, err = r.vm0.FromLua(v, -1); err != nil {
			return fmt.Errorf("scenario %s setup returned a value that cannot reach the VUs: %w", sc.Name, err)
		}
		for _, w := range workers {
			vu := w.(*VU)
			vu.sdat = vu.vm.ToLua(sr.data)
		}
	}
	dropped, _ := r.store.Def(metrics.DroppedIterations)
	droppedS := r.store.Series(dropped, sr.tags)
	x := &execution{sc: sc, workers: workers, active: &r.active,
		dropped: func() { r.store.Add(droppedS, 1) },
		grow: func() (Worker, error) {
			vu, err := r.newVU(ctx, sr)
			if err != nil {
				return nil, err
			}
			vu.data, vu.sdat = vu.vm.ToLua(r.data), vu.vm.ToLua(sr.data)
			return vu, nil
		}}
	err := ex.run(ctx, x)
	if err == nil {
		// The scenario's VUs are idle now: move what they buffered into
		// the store, so its teardown and later scenarios read every value
		// (Metrics.stats).
		r.vusMu.Lock()
		for _, vu := range r.vus {
			if vu.sr == sr {
				vu.buf.Flush()
			}
		}
		r.vusMu.Unlock()
	}
	if sc.Teardown != "" && !r.limitHit(ctx) {
		tctx := context.WithoutCancel(ctx)
		if _, terr := r.callPhase(tctx, "scenario "+sc.Name+" teardown", r.opts.TeardownTimeout, exitcode.TeardownTimeout,
			r.vm0.Global(sc.Teardown), r.vm0.ToLua(r.data), r.vm0.ToLua(sr.data)); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// abort stops the run: the script called abort().
func (r *runState) abort(e *luavm.AbortError) {
	r.cancel(&StopError{Reason: e.Error(), Status: "aborted", Code: exitcode.ScriptAborted})
}

// exitError decides the exit code: a stop cause's, a script error's, an
// invalid option's, then failed thresholds.
func (r *runState) exitError(ctx context.Context, res *result.Run, err error) error {
	var stop *StopError
	cause := context.Cause(ctx)
	r.bugMu.Lock()
	bug := r.bug
	r.bugMu.Unlock()
	var ie *luavm.InternalError
	if bug == nil && errors.As(err, &ie) {
		r.internal(ie) // one that surfaced as an error: report it now
		bug = ie
	}
	switch {
	case bug != nil:
		if res != nil {
			res.Status, res.StopReason = "internal_error", bug.Error()
		}
		return exitcode.WithCodeIfNone(bug, exitcode.Panic)
	case errors.As(err, &stop) || errors.As(cause, &stop):
		if res != nil {
			res.Status, res.StopReason = stop.Status, stop.Reason
		}
		if errors.Is(err, ErrRunaway) {
			return exitcode.WithCodeIfNone(fmt.Errorf("%s; %w", stop.Reason, err), stop.Code)
		}
		var se *luavm.ScriptError
		if errors.As(err, &se) && !errors.Is(err, luavm.ErrAborted) {
			return exitcode.WithCodeIfNone(&stoppedError{stop: stop, script: se}, stop.Code)
		}
		return exitcode.WithCodeIfNone(stop, stop.Code)
	case err != nil:
		if res != nil {
			res.Status, res.StopReason = "error", err.Error()
		}
		var oe *optionsError
		if errors.As(err, &oe) {
			return exitcode.WithCodeIfNone(err, exitcode.InvalidConfig)
		}
		var se *luavm.ScriptError
		if errors.As(err, &se) || errors.Is(err, ErrRunaway) {
			return exitcode.WithCodeIfNone(err, exitcode.ScriptException)
		}
		return err
	case res != nil && res.Failed():
		res.Status = "failed"
		var failed []string
		for _, t := range res.Thresholds {
			if !t.Pass {
				failed = append(failed, t.Metric+": "+t.Expr)
			}
		}
		return exitcode.WithCodeIfNone(fmt.Errorf("thresholds failed: %s", strings.Join(failed, "; ")), exitcode.ThresholdsFailed)
	}
	if res != nil {
		res.Status = "passed"
	}
	return nil
}

// stoppedError is a script stopped by a limit: it names the limit and
// where the script was.
type stoppedError struct {
	stop   *StopError
	script *luavm.ScriptError
}

func (e *stoppedError) Error() string { return e.stop.Reason }
func (e *stoppedError) Unwrap() error { return e.stop }

// Where returns the script's traceback at the moment it was stopped.
func (e *stoppedError) Where() string { return e.script.Traceback }
