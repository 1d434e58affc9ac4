// Package kernel is spellhost's kernel: it owns the tool registry, runs tool
// calls under timeouts with panic recovery, and answers the request/reply
// protocol (JSON envelopes, or the same envelopes as Go values in-process).
//
// The kernel knows nothing of Lua: the Lua host calls Invoke and Do like
// any other client.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/host/fault"
	"spellhost/host/task"
	"spellhost/internal/procmem"
	"spellhost/tools"
)

// Defaults of Options.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxRequestBytes = 64 << 20
)

// Options configure a kernel. Zero fields take the defaults.
type Options struct {
	// DefaultTimeout bounds a tool call that names no timeout (default 30s).
	DefaultTimeout time.Duration
	// MaxRequestBytes caps a JSON request; a larger one is answered
	// too_large without being parsed (default 64 MiB).
	MaxRequestBytes int
	// Faults, when set, injects failures at tool calls (tool:NAME), task
	// attempts (task:NAME) and in the protocol decoder (protocol:decode).
	Faults *fault.Set
	// Tasks configures the task manager, started on the first task.
	Tasks task.Config
	// TaskBackend, when set, starts the task backend in place of the
	// in-process manager (task.New): the kernel calls it once, on the
	// first task, with Tasks resolved and its fault hook added.
	TaskBackend TaskBackend
	// OnTaskTool, when set, hears of each tool call a tool task makes
	// (ToolTask): the tool, the task's tags (read-only), the error type
	// ("" on success) and how long the call took, so a run can count it
	// in its metrics. It is called on the task workers: it must be safe
	// for concurrent use and quick.
	OnTaskTool func(tool string, tags map[string]string, errType tools.ErrorType, d time.Duration)
}

// TaskBackend starts a task backend for kernel k with cfg.
type TaskBackend func(k *Kernel, cfg task.Config) (task.Queue, error)

// Kernel serves tool calls and protocol requests. It is safe for
// concurrent use. Close it to release what its tools hold.
type Kernel struct {
	reg     *tools.Registry
	opts    Options
	started time.Time
	closed  atomic.Bool

	running   atomic.Int64 // tool calls in progress
	abandoned atomic.Int64 // timed-out calls whose tool has not returned yet
	calls     atomic.Int64 // tool calls finished
	panics    atomic.Int64 // real panics; injected ones are counted by their rule
	baseline  int          // goroutines when the kernel started

	taskMu sync.Mutex
	tasks  task.Queue

	listC     atomic.Pointer[listCache]
	closers   []func()
	healthers []func(map[string]any)
}

// OnHealth registers f to add fields to the health report (the task
// manager adds its queue). Call it before the kernel serves requests.
func (k *Kernel) OnHealth(f func(map[string]any)) { k.healthers = append(k.healthers, f) }

// New returns a kernel serving reg.
func New(reg *tools.Registry, opts Options) *Kernel {
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return &Kernel{reg: reg, opts: opts, started: time.Now(), baseline: runtime.NumGoroutine()}
}

// Registry returns the kernel's tool registry.
func (k *Kernel) Registry() *tools.Registry { return k.reg }

// Options returns the kernel's resolved options.
func (k *Kernel) Options() Options { return k.opts }

// OnClose registers f to run when the kernel closes, last registered first.
func (k *Kernel) OnClose(f func()) { k.closers = append(k.closers, f) }

// Close releases the kernel's resources. Calls made after Close fail.
func (k *Kernel) Close() error {
	k.taskMu.Lock()
	was := k.closed.Swap(true)
	k.taskMu.Unlock()
	if was {
		return nil
	}
	k.closeTasks()
	for i := len(k.closers) - 1; i >= 0; i-- {
		k.closers[i]()
	}
	return nil
}

// ErrClosed is returned for calls made after Close.
var ErrClosed = &tools.Error{Type: tools.TypeCancelled, Op: "kernel", Err: errors.New("closed")}

// TimeoutError is the cause of a context that a kernel timeout ended; it
// names the limit that fired.
type TimeoutError struct {
	What  string // "tool calculator"
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: timed out after %v", e.What, e.Limit)
}

// Is makes a TimeoutError match context.DeadlineExceeded and tools.ErrTimeout.
func (e *TimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == tools.ErrTimeout
}

// Invoke runs the named tool with params, bounded by timeout (the default
// when zero or negative). Errors are *tools.Error values whose type says
// what failed: not_found, validation_error, execution_error, timeout,
// cancelled, internal (a panic), or the tool's own type.
//
// The tool runs in its own goroutine so that a tool which ignores its
// context still yields a timely timeout; such a goroutine is counted as
// abandoned until the tool returns.
func (k *Kernel) Invoke(ctx context.Context, name string, params map[string]any, timeout time.Duration) (any, error) {
	if k.closed.Load() {
		return nil, ErrClosed
	}
	t, err := k.reg.Get(name)
	if err != nil {
		return nil, err
	}
	spec := t.Spec()
	p, err := spec.Bind(params)
	if err != nil {
		return nil, tools.WithOp("tool "+name, err)
	}
	if timeout <= 0 {
		timeout = k.opts.DefaultTimeout
	}
	// A fault rule's effect runs on the goroutine path even for an inline
	// tool, so an injected delay, hang or panic meets the same timeout and
	// recovery as a real one.
	eff := k.opts.Faults.Eval("tool:" + spec.Name)
	if spec.Inline && eff == nil {
		return k.runInline(ctx, t, spec.Name, p, timeout)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, &TimeoutError{What: "tool " + name, Limit: timeout})
	defer cancel()
	return k.run(ctx, t, spec.Name, p, eff)
}

// runInline runs a tool that declared itself Inline on the caller's
// goroutine. Such a tool cannot block, so the deadline is checked before it
// starts and after it returns: a result that arrives after the timeout is
// discarded and answered "timeout", as it would be on the goroutine path.
func (k *Kernel) runInline(ctx context.Context, t tools.Tool, name string, p tools.Params, timeout time.Duration) (res any, err error) {
	if ctx.Err() != nil {
		return nil, ctxError("tool "+name, ctx)
	}
	k.running.Add(1)
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			k.panics.Add(1)
			res, err = nil, &tools.Error{Type: tools.TypeInternal, Op: "tool " + name,
				Err: fmt.Errorf("panic: %v [%s]", r, panicSite())}
		}
		k.running.Add(-1)
		k.calls.Add(1)
	}()
	res, err = t.Invoke(ctx, p)
	if time.Since(start) > timeout {
		return nil, &tools.Error{Type: tools.TypeTimeout, Err: &TimeoutError{What: "tool " + name, Limit: timeout}}
	}
	if ctx.Err() != nil {
		return nil, ctxError("tool "+name, ctx)
	}
	if err != nil {
		return nil, tools.WithOp("tool "+name, err)
	}
	return res, nil
}

type outcome struct {
	res any
	err error
}

func (k *Kernel) run(ctx context.Context, t tools.Tool, name string, p tools.Params, eff *fault.Effect) (any, error) {
	if ctx.Err() != nil {
		return nil, ctxError("tool "+name, ctx)
	}
	k.running.Add(1)
	done := make(chan outcome, 1)
	// state: 0 while the caller waits; 1 once the tool returned; 2 once the
	// caller gave up waiting (the call is then abandoned until it returns).
	var state atomic.Int32
	go func() {
		var o outcome
		defer func() {
			if r := recover(); r != nil {
				if inj, ok := r.(*fault.PanicValue); ok {
					o = outcome{err: &tools.Error{Type: tools.TypeInjected, Op: "tool " + name, Err: &inj.Injected}}
				} else {
					k.panics.Add(1)
					o = outcome{err: &tools.Error{Type: tools.TypeInternal, Op: "tool " + name,
						Err: fmt.Errorf("panic: %v [%s]", r, panicSite())}}
				}
			}
			k.running.Add(-1)
			k.calls.Add(1)
			if !state.CompareAndSwap(0, 1) {
				k.abandoned.Add(-1)
			}
			done <- o
		}()
		if eff == nil {
			o.res, o.err = t.Invoke(ctx, p)
			return
		}
		if o.err = eff.Before(ctx); o.err != nil {
			return
		}
		tctx, stop := eff.ToolContext(ctx)
		defer stop()
		start := time.Now()
		o.res, o.err = t.Invoke(tctx, p)
		if err := eff.Stretch(ctx, time.Since(start)); err != nil {
			o.res, o.err = nil, err
		}
		if o.err == nil {
			o.res = eff.After(o.res)
		}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		if state.CompareAndSwap(0, 2) {
			k.abandoned.Add(1)
			return nil, ctxError("tool "+name, ctx)
		}
		o = <-done // it returned as the deadline fired
	}
	if o.err != nil {
		if ctx.Err() != nil && tools.TypeOf(o.err) != tools.TypeInternal && tools.TypeOf(o.err) != tools.TypeInjected {
			return nil, ctxError("tool "+name, ctx)
		}
		return nil, tools.WithOp("tool "+name, o.err)
	}
	return o.res, nil
}

// ctxError classifies why ctx ended: timeout (with the limit that fired)
// or cancelled.
func ctxError(op string, ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	if errors.Is(cause, context.DeadlineExceeded) || errors.Is(cause, tools.ErrTimeout) {
		var te *TimeoutError
		if errors.As(cause, &te) {
			return &tools.Error{Type: tools.TypeTimeout, Err: te}
		}
		return &tools.Error{Type: tools.TypeTimeout, Op: op, Err: cause}
	}
	var typed *tools.Error
	if errors.As(cause, &typed) {
		return &tools.Error{Type: typed.Type, Op: op, Err: cause}
	}
	return &tools.Error{Type: tools.TypeCancelled, Op: op, Err: cause}
}

// panicSite returns the function and line that panicked, from the stack.
func panicSite() string {
	lines := strings.Split(string(debug.Stack()), "\n")
	// The stack reads: goroutine, debug.Stack, panicSite, the deferred
	// func, runtime/panic.go, then the panicking frame.
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "panic(") {
			for j := i + 2; j+1 < len(lines); j += 2 {
				if !strings.HasPrefix(lines[j], "runtime.") {
					fn := lines[j]
					if k := strings.LastIndexByte(fn, '('); k > 0 {
						fn = fn[:k]
					}
					loc := strings.TrimSpace(lines[j+1])
					if k := strings.LastIndexByte(loc, ' '); k > 0 {
						loc = loc[:k]
					}
					return fn + " at " + loc
				}
			}
		}
	}
	return "unknown site"
}

// Stats are the kernel's counters.
type Stats struct {
	Tools     int   `json:"tools"`
	Running   int64 `json:"running"`
	Abandoned int64 `json:"abandoned"`
	Calls     int64 `json:"calls"`
	Panics    int64 `json:"panics"`
}

// Stats returns the kernel's counters.
func (k *Kernel) Stats() Stats {
	return Stats{
		Tools:     k.reg.Len(),
		Running:   k.running.Load(),
		Abandoned: k.abandoned.Load(),
		Calls:     k.calls.Load(),
		Panics:    k.panics.Load(),
	}
}

// ErrorTypes lists every error type a reply can carry, in documentation
// order: the core's, then the task manager's.
var ErrorTypes = append(append([]tools.ErrorType{}, tools.ErrorTypes...), task.TypeQueueFull, task.TypeBudget)

// Health reports the kernel's state for the health command and for
// recovery checks.
func (k *Kernel) Health() map[string]any {
	s := k.Stats()
	status := "ok"
	if k.closed.Load() {
		status = "closed"
	}
	g := runtime.NumGoroutine()
	h := map[string]any{
		"status":              status,
		"tools":               s.Tools,
		"running":             s.Running,
		"abandoned":           s.Abandoned,
		"calls":               s.Calls,
		"panics":              s.Panics,
		"goroutines":          g,
		"goroutines_baseline": k.baseline,
		"goroutine_growth":    g - k.baseline,
		"heap_bytes":          procmem.HeapObjects(),
		"uptime_s":            time.Since(k.started).Seconds(),
		"fault_rules":         len(k.opts.Faults.List()),
	}
	k.taskMu.Lock()
	m := k.tasks
	k.taskMu.Unlock()
	if m != nil {
		ts := m.Stats()
		h["tasks_queued"], h["tasks_running"], h["tasks_retrying"] = ts.Queued, ts.Running, ts.Retrying
	}
	for _, f := range k.healthers {
		f(h)
	}
	return h
}
