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
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/exitcode"
	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/luavm"
	"spellhost/host/memlimit"
	"spellhost/host/metrics"
	"spellhost/host/task/durable"
	"spellhost/tools"
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
	// Tools configures the built-in tools (permissions, endpoints).
	Tools tools.Config
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
	// Progress, when set, receives a live status line every second.
	Progress io.Writer
	// Points, when set, receives every metric's figures each second
	// (the --out json=FILE stream).
	Points PointWriter
	// Charts, when set, receives each second's chart values (--dashboard).
	Charts LiveSink
	// InspectOnly stops the run once the options are resolved (after the
	// script's top level ran): Result.Options holds them.
	InspectOnly bool
	// Faults are fault rules enabled before the script starts, each
	// TARGET=TERMS (the --fault flag and SPELLHOST_FAULTS).
	Faults []string
	// Live, when set, is attached to the run as it starts, so another
	// goroutine can build a result from what was recorded so far.
	Live *Live
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
func (l *Live) Snapshot(stop *StopError) *Result {
	l.mu.Lock()
	r := l.r
	l.mu.Unlock()
	if r == nil {
		return nil
	}
	res := &Result{Version: SummaryVersion, Script: r.cfg.Script, Seed: r.cfg.Seed, Start: r.store.Start(),
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
	cfg        Config
	prog       *luavm.Program
	env        *luavm.Env
	k          *kernel.Kernel
	store      *metrics.Store
	opts       *Options
	vm0        *luavm.VM
	vm0mu      sync.Mutex
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
	// live guards opts and scenarios against Live.Snapshot, which reads
	// them from another goroutine while the run sets them.
	live  sync.Mutex
	bugMu sync.Mutex
	bug   *luavm.InternalError // the first bug in spellhost caught in the run
}

// Run runs the script. It returns the result (nil only when the script
// could not start) and an error carrying the exit code: nil for a run
// whose thresholds passed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	prog, err := luavm.CompileFile(cfg.Script)
	if err != nil {
		var se *luavm.SyntaxError
		if errors.As(err, &se) {
			return nil, exitcode.WithCodeIfNone(err, exitcode.ScriptException)
		}
		return nil, exitcode.WithCodeIfNone(err, exitcode.InvalidConfig)
	}
	reg, err := tools.NewBuiltinRegistry(cfg.Tools)
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
	k := kernel.New(reg, kernel.Options{DefaultTimeout: cfg.ToolTimeout, MaxRequestBytes: cfg.MaxRequestBytes, Faults: faults})
	defer k.Close()
	r := &runState{cfg: cfg, prog: prog, k: k, store: metrics.NewStore()}
	r.store.SetMaxSeries(cfg.MaxSeries)
	k.ConfigureTasks(r.taskConfig(TaskOptions{})) // defaults until the options say otherwise
	r.env = &luavm.Env{
		Kernel: k, Perm: cfg.Tools.Perm, LookupEnv: cfg.LookupEnv,
		Stdout: cfg.Stdout, Log: cfg.Stderr, LogLevel: cfg.LogLevel,
		Args: cfg.Args, Seed: cfg.Seed, Lib: cfg.Lib, Limits: cfg.Limits, Start: r.store.Start(),
		OnInternalError: r.internal, TestHook: cfg.TestHook,
	}
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
	// Tasks still queued or running end now, cancelled and counted, so
	// the summary's accounting is final.
	k.StopTasks()
	stopSampler()
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
	return res, r.exitError(ctx, res, err)
}

func (r *runState) startSampler() func() {
	rss, _ := r.store.Def(metrics.MemoryRSS)
	heap, _ := r.store.Def(metrics.MemoryHeapLive)
	gor, _ := r.store.Def(metrics.Goroutines)
	rssS, heapS, gorS := r.store.Series(rss, ""), r.store.Series(heap, ""), r.store.Series(gor, "")
	interval := r.cfg.MemoryInterval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	r.sampler = metrics.NewSampler(interval, r.iterations.Load, func(m metrics.MemSample) {
		r.store.Add(rssS, float64(m.RSS))
		r.store.Add(heapS, float64(m.HeapLive))
		r.store.Add(gorS, float64(m.Goroutines))
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
func (r *runState) execute(ctx context.Context, res *Result) (*Result, error) {
	// The init context: the script's top level, once, in VU 0.
	vm0, err := luavm.New(r.env, r.prog, 0)
	if err != nil {
		return nil, err
	}
	r.vm0 = vm0
	vm0.Recorder = luavm.NewRecorder(r.store, r.store.NewBuffer(256, 100*time.Millisecond))
	vm0.OnAbort = r.abort
	err = Guard(ctx, func() error {
		r.hook("main")
		return vm0.RunMain(ctx)
	})
	if errors.Is(err, ErrRunaway) {
		return res, err
	}
	defer vm0.Close()
	vm0.Recorder.Buf.Flush()
	if err != nil {
		return res, err
	}
	rawOpts, err := vm0.FromLua(vm0.Global("options"), -1)
	if err != nil {
		return res, optErr("options: %v", err)
	}
	_, hasDefault := vm0.Global("default").(*lua.LFunction)
	opts, err := ParseOptions(rawOpts, hasDefault, r.cfg.Overrides)
	if err != nil {
		return res, err
	}
	r.live.Lock()
	r.opts = opts
	r.live.Unlock()
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
	if err := opts.ResolveThresholds(r.store); err != nil {
		return res, err
	}
	if len(opts.Scenarios) == 0 {
		res.TopToBottom = true
		res.Options = opts
		return res, nil
	}
	for _, sc := range opts.Scenarios {
		for what, fn := range map[string]string{"exec": sc.Exec, "setup": sc.Setup, "teardown": sc.Teardown} {
			if fn == "" {
				continue
			}
			if _, ok := vm0.Global(fn).(*lua.LFunction); !ok {
				return res, optErr("scenario %s: %s function %q is not defined at the top level of the script", sc.Name, what, fn)
			}
		}
	}
	if r.cfg.InspectOnly {
		res.Options = opts
		return res, nil
	}

	// Global setup, with its own timeout; its result reaches every VU.
	if fn, ok := vm0.Global("setup").(*lua.LFunction); ok {
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
	if fn, ok := vm0.Global("teardown").(*lua.LFunction); ok && !r.limitHit(ctx) {
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
func (r *runState) callPhase(ctx context.Context, name string, limit time.Duration, code exitcode.Code, fn lua.LValue, args ...lua.LValue) (lua.LValue, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, limit, &StopError{
		Reason: fmt.Sprintf("%s() overran its %v timeout", name, limit), Status: "timeout", Code: code, timeout: true})
	defer cancel()
	r.vm0mu.Lock()
	defer r.vm0mu.Unlock()
	var out []lua.LValue
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
			return nil, exitcode.WithCodeIfNone(stop, stop.Code)
		}
		return nil, fmt.Errorf("%s(): %w", name, err)
	}
	if len(out) == 0 {
		return lua.LNil, nil
	}
	return out[0], nil
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
	tags := map[string]string{"scenario": sc.Name}
	for k, v := range sc.Tags {
		tags[k] = v
	}
	def := func(name string) *metrics.Def { d, _ := r.store.Def(name); return d }
	return &scenarioRun{sc: sc, tags: metrics.Tags(tags), errs: &errorLog{},
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
	rec.Scenario = sr.sc.Name
	vm.Recorder = rec
	vm.SetScenario(sr.sc.Name)
	vm.OnAbort = r.abort
	if err := vm.RunMain(ctx); err != nil {
		vm.Close()
		return nil, fmt.Errorf("VU %d: %w", id, err)
	}
	vu := &VU{id: id, vm: vm, rec: rec, buf: buf, run: r, sr: sr, fn: vm.Global(sr.sc.Exec),
		data: vm.ToLua(r.data), sdat: lua.LNil}
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

// startCollector closes a metrics window every second: it extends the
// timeline, streams the points, shows progress and checks abortOnFail
// thresholds.
func (r *runState) startCollector(ctx context.Context) func() {
	cctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.recovered("the metrics collector", nil)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				r.tick(time.Now())
				return
			case now := <-t.C:
				r.tick(now)
				r.checkAbort(now)
			}
		}
	}()
	_ = ctx
	return func() { stop(); <-done }
}

func (r *runState) tick(now time.Time) {
	vusDef, _ := r.store.Def(metrics.VUs)
	r.store.Add(r.store.Series(vusDef, ""), float64(r.active.Load()))
	elapsed, ws := r.store.Tick(now)
	r.tlMu.Lock()
	defer r.tlMu.Unlock()
	prev := 0.0
	if pts := r.timeline.Points(); len(pts) > 0 {
		prev = pts[len(pts)-1].T
	}
	span := elapsed.Seconds() - prev
	if span <= 0 {
		return
	}
	p := metrics.Point{T: elapsed.Seconds()}
	var durs []metrics.Stats
	for _, w := range ws {
		switch w.Series.Def.Name {
		case metrics.Iterations:
			p.Iterations += w.Stats.Sum / span
		case metrics.ToolCalls:
			p.ToolCalls += w.Stats.Sum / span
		case metrics.IterationErrors:
			p.Errors += w.Stats.Sum / span
		case metrics.IterationDuration:
			durs = append(durs, w.Stats)
		case metrics.VUs:
			p.VUs = w.Stats.Value
		}
	}
	if len(durs) > 0 {
		m := metrics.Merge(durs...)
		p.P50, p.P90, p.P95, p.P99 = m.Med, m.P90, m.P95, m.P99
	}
	mem := metrics.ReadMemory()
	p.RSS, p.HeapLive, p.Goroutines = mem.RSS, mem.HeapLive, mem.Goroutines
	r.timeline.Add(p, span)
	cs := r.curveSample(elapsed.Seconds(), span, ws, mem)
	r.curves.Add(cs)
	if r.cfg.Charts != nil {
		r.cfg.Charts.Second(cs)
	}
	if r.cfg.Points != nil {
		r.cfg.Points.WritePoints(now, elapsed, ws)
	}
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "\r\033[K%s  vus %d  iterations %d (%.0f/s)  errors %.0f/s  p95 %.2fms  rss %s",
			elapsed.Round(100*time.Millisecond), int64(p.VUs), r.iterations.Load(), p.Iterations, p.Errors, p.P95, formatBytes(p.RSS))
	}
}

// checkAbort evaluates the abortOnFail thresholds.
func (r *runState) checkAbort(now time.Time) {
	elapsed := now.Sub(r.store.Start())
	var ths []*metrics.Threshold
	for _, t := range r.opts.Thresholds {
		if t.AbortOnFail && elapsed >= t.DelayAbortEval {
			ths = append(ths, t)
		}
	}
	if len(ths) == 0 {
		return
	}
	for _, res := range metrics.EvaluateWith(r.store, ths, r.secondsFor(elapsed.Seconds())) {
		if !res.Pass {
			r.tlMu.Lock()
			r.aborted = append(r.aborted, res.Threshold)
			r.tlMu.Unlock()
			r.cancel(&StopError{Code: exitcode.ThresholdsFailed, Status: "failed",
				Reason: fmt.Sprintf("threshold %s failed (value %g) and has abortOnFail", res.Threshold.Name(), res.Value)})
			return
		}
	}
}

// exitError decides the exit code: a stop cause's, a script error's, an
// invalid option's, then failed thresholds.
func (r *runState) exitError(ctx context.Context, res *Result, err error) error {
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

func formatBytes(b uint64) string {
	const mib = 1 << 20
	if b >= 10*mib {
		return fmt.Sprintf("%d MiB", b/mib)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/mib)
}

// finish fills the result: per-scenario figures, thresholds, checks,
// tools, memory and the timeline. final is false for a snapshot of a run
// still going on: the leak verdict is then not recorded as metrics.
func (r *runState) finish(res *Result, final bool) {
	r.live.Lock()
	opts, scenarios := r.opts, slices.Clone(r.scenarios)
	r.live.Unlock()
	end := time.Now()
	res.Duration = end.Sub(r.store.Start()).Seconds()
	res.Kernel = r.k.Stats()
	res.Faults = r.k.Options().Faults.All()
	if sec, ok := taskSection(r.k); ok {
		res.Sections = append(res.Sections, sec)
	}
	samples := r.sampler.Samples()
	mo := MemoryOptions{Warn: metrics.DefaultWarnBytes, Fail: metrics.DefaultFailBytes}
	if opts != nil {
		mo = opts.Memory
	}
	leak := metrics.JudgeLeak(samples, metrics.LeakConfig{WarmUp: mo.WarmUp, WarnBytes: mo.Warn, FailBytes: mo.Fail})
	res.Memory = MemoryResult{Samples: samples, Peak: r.sampler.Peak(), Leak: leak}
	res.Memory.Peak.RSS = max(res.Memory.Peak.RSS, r.mem.Peak())
	res.Memory.Limit = r.mem.Limit()
	growth, _ := r.store.Def(metrics.MemoryGrowth)
	slope, _ := r.store.Def(metrics.MemorySlope)
	if leak.Verdict != metrics.Insufficient && final {
		r.store.Add(r.store.Series(growth, ""), leak.HeapGrowth)
		r.store.Add(r.store.Series(slope, ""), leak.Slope)
	}
	r.tlMu.Lock()
	res.Timeline = r.timeline.Points()
	if r.curves.Len() > 0 {
		res.Curves = r.curves.Set()
	}
	aborted := r.aborted
	r.tlMu.Unlock()

	secs := res.Duration
	ordered := scenarios
	sort.SliceStable(ordered, func(i, j int) bool {
		a, _ := ordered[i].span()
		b, _ := ordered[j].span()
		return !a.IsZero() && (b.IsZero() || a.Before(b))
	})
	for _, sr := range ordered {
		res.Scenarios = append(res.Scenarios, r.scenarioResult(sr))
	}
	if opts != nil {
		res.RunOptions = opts.Describe()
		for _, t := range metrics.EvaluateWith(r.store, opts.Thresholds, r.secondsFor(secs)) {
			def, _ := r.store.Def(t.Threshold.Query.Metric)
			tr := ThresholdResult{Metric: t.Threshold.Query.String(), Expr: t.Threshold.Source, Value: t.Value,
				Pass: t.Pass, NoData: t.NoData, Unit: unitName(def)}
			for _, a := range aborted {
				if a == t.Threshold {
					tr.AbortedRun = true
				}
			}
			res.Thresholds = append(res.Thresholds, tr)
			if sc := t.Threshold.Query.Tags["scenario"]; sc != "" {
				for i := range res.Scenarios {
					if res.Scenarios[i].Name == sc {
						res.Scenarios[i].Thresholds = append(res.Scenarios[i].Thresholds, tr)
					}
				}
			}
		}
	}
	res.MaxSeries = r.store.MaxSeries()
	res.Dropped = r.store.Dropped()
	tools := map[string]*ToolResult{}
	checks := map[[2]string]*CheckResult{}
	for _, w := range r.store.All(secs) {
		s := w.Series
		tags := s.TagMap()
		mr := MetricResult{Name: s.Def.Name, Tags: tags, Kind: s.Def.Kind.String(), Unit: unitName(s.Def), Stats: w.Stats, Hist: w.Stats.Hist()}
		res.Metrics = append(res.Metrics, mr)
		switch s.Def.Name {
		case metrics.ToolCalls:
			t := tools[tags["tool"]]
			if t == nil {
				t = &ToolResult{Tool: tags["tool"], Outcomes: map[string]int64{}}
				tools[tags["tool"]] = t
			}
			t.Calls += int64(w.Stats.Sum)
			t.Outcomes[tags["outcome"]] += int64(w.Stats.Sum)
		case metrics.Checks:
			key := [2]string{tags["check"], tags["scenario"]}
			c := checks[key]
			if c == nil {
				c = &CheckResult{Name: tags["check"], Scenario: tags["scenario"]}
				checks[key] = c
			}
			c.Passes += w.Stats.Trues
			c.Fails += w.Stats.Count - w.Stats.Trues
		}
	}
	for name, t := range tools {
		t.Latency, _, _ = r.store.Stats(metrics.Query{Metric: metrics.ToolDuration, Tags: map[string]string{"tool": name}}, secs)
		res.Tools = append(res.Tools, *t)
	}
	sort.Slice(res.Tools, func(i, j int) bool { return res.Tools[i].Tool < res.Tools[j].Tool })
	for _, c := range checks {
		res.Checks = append(res.Checks, *c)
	}
	sort.Slice(res.Checks, func(i, j int) bool {
		if res.Checks[i].Scenario != res.Checks[j].Scenario {
			return res.Checks[i].Scenario < res.Checks[j].Scenario
		}
		return res.Checks[i].Name < res.Checks[j].Name
	})
	for i := range res.Scenarios {
		for _, c := range res.Checks {
			if c.Scenario == res.Scenarios[i].Name {
				res.Scenarios[i].Checks = append(res.Scenarios[i].Checks, c)
			}
		}
	}
}

// secondsFor is the time base of a threshold's rate: a sub-metric of one
// scenario counts per second of that scenario's run; anything else per
// second of the whole run.
func (r *runState) secondsFor(whole float64) func(q metrics.Query) float64 {
	r.live.Lock()
	scenarios := slices.Clone(r.scenarios)
	r.live.Unlock()
	return func(q metrics.Query) float64 {
		name := q.Tags["scenario"]
		for _, sr := range scenarios {
			if start, end := sr.span(); sr.sc.Name == name && !start.IsZero() {
				return end.Sub(start).Seconds()
			}
		}
		return whole
	}
}

func (r *runState) scenarioResult(sr *scenarioRun) ScenarioResult {
	sc := sr.sc
	q := func(metric string) metrics.Stats {
		s, _, _ := r.store.Stats(metrics.Query{Metric: metric, Tags: map[string]string{"scenario": sc.Name}}, 1)
		return s
	}
	out := ScenarioResult{Name: sc.Name, Executor: sc.Executor, Tags: sc.Tags}
	if start, end := sr.span(); !start.IsZero() {
		out.Duration = end.Sub(start).Seconds()
	}
	out.Iterations = int64(q(metrics.Iterations).Sum)
	out.Errors = int64(q(metrics.IterationErrors).Sum)
	out.Timeouts = int64(q(metrics.IterationTimeouts).Sum)
	out.Dropped = int64(q(metrics.DroppedIterations).Sum)
	sr.mu.Lock()
	out.Interrupted = sr.interrupted
	sr.mu.Unlock()
	if out.Duration > 0 {
		out.Rate = float64(out.Iterations) / out.Duration
	}
	if out.Iterations > 0 {
		out.SuccessRate = float64(out.Iterations-out.Errors-out.Timeouts) / float64(out.Iterations)
	}
	out.Latency = q(metrics.IterationDuration)
	out.Service = q(metrics.IterationService)
	out.FirstErrors, out.OtherErrors = sr.errs.snapshot()
	out.ErrorsByType = map[string]int64{}
	for _, w := range r.store.All(1) {
		if w.Series.Def.Name == metrics.IterationErrors && w.Series.TagMap()["scenario"] == sc.Name {
			out.ErrorsByType[w.Series.TagMap()["type"]] += int64(w.Stats.Sum)
		}
	}
	return out
}

func unitName(d *metrics.Def) string {
	if d == nil {
		return ""
	}
	switch d.Unit {
	case metrics.Time:
		return "ms"
	case metrics.Data:
		return "bytes"
	}
	return ""
}
