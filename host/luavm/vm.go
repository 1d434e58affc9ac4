package luavm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/host/memlimit"
	"spellhost/host/metrics"
	"spellhost/host/task"
	"spellhost/tools"
	"spellhost/tools/perm"
)

// Limits bound what one Lua state may do. Zero fields take the defaults.
type Limits struct {
	// MaxStringBytes caps one string built by .., string.rep,
	// string.gsub, string.format, table.concat or JSON.encode (default
	// 128 MiB).
	MaxStringBytes int
	// CallStackSize caps Lua call depth (default 1024 frames); deeper
	// recursion is a "stack overflow" error.
	CallStackSize int
	// RegistryMaxSize caps the value stack (default 1 Mi slots, 16 MiB).
	RegistryMaxSize int
	// MaxResults caps the values one call returns: unpack, string.byte
	// (default 65536).
	MaxResults int
	// MaxLoadBytes caps the source text load and loadstring compile
	// (default 1 MiB: compiling takes about 100 bytes of memory and half a
	// microsecond per byte of source).
	MaxLoadBytes int
	// MaxCoroutines caps the coroutines alive at once in one Lua state
	// (default 1000; each is a Lua state of about 15 KB).
	MaxCoroutines int
}

// Default limits.
const (
	DefaultMaxStringBytes  = 128 << 20
	DefaultCallStackSize   = 1024
	DefaultRegistryMaxSize = 1 << 20
	DefaultMaxResults      = 1 << 16
	DefaultMaxCoroutines   = 1000
	DefaultMaxLoadBytes    = 1 << 20
)

func (l *Limits) fill() {
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = DefaultMaxStringBytes
	}
	if l.CallStackSize <= 0 {
		l.CallStackSize = DefaultCallStackSize
	}
	if l.RegistryMaxSize <= 0 {
		l.RegistryMaxSize = DefaultRegistryMaxSize
	}
	if l.MaxResults <= 0 {
		l.MaxResults = DefaultMaxResults
	}
	if l.MaxLoadBytes <= 0 {
		l.MaxLoadBytes = DefaultMaxLoadBytes
	}
	if l.MaxCoroutines <= 0 {
		l.MaxCoroutines = DefaultMaxCoroutines
	}
}

// Env is what the VUs of one run share. Set its fields before the first
// VM is made; after that it is read-only (its caches are safe for
// concurrent use).
type Env struct {
	Kernel *kernel.Kernel
	// Perm decides env(); file access goes through tools only.
	Perm *perm.Set
	// LookupEnv reads the process environment (os.LookupEnv in production).
	LookupEnv func(string) (string, bool)
	// Stdout receives print; Log receives Logger output. Both are
	// serialised by the Env.
	Stdout io.Writer
	Log    io.Writer
	// LogLevel is the lowest Logger level written: debug, info, warn, error.
	LogLevel string
	// Args are the script's arguments, as the Lua global ARGS.
	Args []string
	// ENV are the variables given with -e KEY=VALUE, as the Lua global
	// table ENV (no --allow-env needed: the user passed them).
	ENV map[string]string
	// Seed seeds math.random: VU n uses Seed and n, so runs repeat.
	Seed uint64
	// Lib holds the Lua modules shipped with spellhost (the lua/ folder).
	Lib    fs.FS
	Limits Limits
	// Start is time zero of now().
	Start time.Time
	// Memory, when set, returns the memory sampler's samples so far, the
	// run's leak levels, and a fresh sample (for Metrics.memory).
	Memory func() ([]metrics.MemSample, metrics.LeakConfig, metrics.MemSample)
	// MemLimit, when set, is asked before a script builds anything large
	// (a concatenation, string.rep, table.concat, JSON) and refuses what
	// would pass --max-memory.
	MemLimit *memlimit.Limiter
	// OnInternalError, when set, hears of a panic caught in a task
	// worker's Lua state (a bug in spellhost); the run then stops.
	OnInternalError func(*InternalError)
	// TestHook, when set, is called at named points ("call" as VM.Call
	// starts, "task" in a task worker's goroutine) so tests can inject a
	// panic there. Production runs leave it nil.
	TestHook func(point string)
	// Metrics, when set, is the run's store: the task worker states
	// record what a fn task measures there, under the run's tags (SetTags)
	// and the task's own.
	Metrics *metrics.Store

	tags     atomic.Pointer[map[string]string]
	pool     *workerPool
	poolOnce sync.Once

	outMu   sync.Mutex
	modules sync.Map // module path -> *lua.FunctionProto
	once    sync.Once
}

func (e *Env) init() {
	e.once.Do(func() {
		e.Limits.fill()
		if e.Start.IsZero() {
			e.Start = time.Now()
		}
		if e.Stdout == nil {
			e.Stdout = io.Discard
		}
		if e.Log == nil {
			e.Log = io.Discard
		}
		if e.LookupEnv == nil {
			e.LookupEnv = func(string) (string, bool) { return "", false }
		}
		if e.LogLevel == "" {
			e.LogLevel = "info"
		}
	})
}

// SetTags sets the run's global tags (options.tags and --tag), which the
// values task workers record carry. Safe to call while the run goes on.
func (e *Env) SetTags(tags map[string]string) {
	m := maps.Clone(tags)
	e.tags.Store(&m)
}

// Tags returns the run's global tags (nil before SetTags); treat the map as
// read-only.
func (e *Env) Tags() map[string]string {
	if p := e.tags.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Env) write(w io.Writer, s string) {
	e.outMu.Lock()
	io.WriteString(w, s)
	e.outMu.Unlock()
}

// VM is one sandboxed Lua state. It is not safe for concurrent use: one
// goroutine (one VU) owns it.
type VM struct {
	state *lua.LState // the Lua state; only this package touches it
	ID    int
	env   *Env
	prog  *Program
	rand  *rand.Rand
	src   *rand.PCG

	errMeta   *lua.LTable // metatable of error values
	arrayMeta *lua.LTable // marks a table as a JSON array
	null      lua.LValue  // JSON.null
	trace     string      // traceback captured by the message handler
	handler   *lua.LFunction
	quiet     *lua.LFunction // message handler for pcall: no traceback
	probeFn   *lua.LFunction // see protectedCall
	loaded    *lua.LTable    // modules required so far

	// bug is the first Go panic caught in this state; once set, the VM
	// refuses to run anything more.
	bug *InternalError
	// nest counts nested protected calls and resumes (maxNesting).
	nest int
	// coCreate and coResume are gopher-lua's coroutine.create and
	// resume, which coroutine.go wraps; threads are the coroutines made.
	coCreate, coResume lua.LGFunction
	threads            []weak.Pointer[lua.LState]

	// Recorder receives what the VM's bindings measure; nil records
	// nothing (Metrics.* then make a private store).
	Recorder *Recorder
	// OnAbort is called when the script calls abort().
	OnAbort func(*AbortError)

	metricMt *lua.LTable
	exec     *lua.LTable // the Exec global

	// kern is the kernel the bindings talk to: the run's, or for the
	// methods of a Kernel.new handle, that handle's.
	kern    *kernel.Kernel
	kernels []*kernelHandle // started by Kernel.new, closed with the VM
	kmeta   *lua.LTable

	// attempt is the task attempt a task worker's state is running (for
	// Task.spend).
	attempt *task.Attempt

	lazyTables map[string]func(*lua.LState) *lua.LTable // global tables not built yet
	// pristine is a task worker's state as it was made (taskstate.go).
	pristine  *pristine
	summaries summaryCache
}

// New makes a VM for prog: a fresh sandboxed state with the spellhost
// globals installed. The script's chunk has not run yet: call RunMain.
func New(env *Env, prog *Program, id int) (*VM, error) {
	env.init()
	L := lua.NewState(lua.Options{
		CallStackSize:       env.Limits.CallStackSize,
		RegistrySize:        256,
		RegistryMaxSize:     env.Limits.RegistryMaxSize,
		MinimizeStackMemory: true,
		SkipOpenLibs:        true,
		IncludeGoStackTrace: true, // only read when Go code panicked
	})
	src := rand.NewPCG(env.Seed, uint64(id))
	vm := &VM{state: L, ID: id, env: env, prog: prog, src: src, rand: rand.New(src), kern: env.Kernel}
	self := L.NewUserData()
	self.Value = vm
	L.G.Registry.RawSetString(vmKey, self)
	vm.handler = L.NewFunction(vm.messageHandler)
	vm.quiet = L.NewFunction(func(L *lua.LState) int { return 1 })
	vm.probeFn = L.NewFunction(probe)
	if err := vm.openSandbox(); err != nil {
		L.Close()
		return nil, err
	}
	vm.installBindings()
	return vm, nil
}

// Close releases the state and the kernels it started.
func (vm *VM) Close() {
	for _, h := range vm.kernels {
		h.close()
	}
	vm.state.Close()
}

// Close releases what the environment holds: the idle task worker states.
// Call it after the kernel (and so its task workers) closed.
func (e *Env) Close() {
	if e.pool != nil {
		e.pool.Close()
	}
}

// Env returns the shared environment.
func (vm *VM) Env() *Env { return vm.env }

// RunMain runs the script's chunk (its top level) under ctx.
func (vm *VM) RunMain(ctx context.Context) error {
	fn := vm.state.NewFunctionFromProto(vm.prog.proto)
	_, err := vm.call(ctx, fn)
	return err
}

// global returns a global variable, read raw (no metamethod runs).
func (vm *VM) global(name string) lua.LValue { return vm.state.G.Global.RawGetString(name) }

// call calls fn with args under ctx and returns its results. A Lua error
// is a *ScriptError carrying the message, the error value and a bounded
// traceback; when ctx ended, the error also wraps context.Cause(ctx). A Go
// panic while the script ran is an *InternalError, and the VM refuses
// every later call with the same error.
func (vm *VM) call(ctx context.Context, fn lua.LValue, args ...lua.LValue) (out []lua.LValue, err error) {
	if vm.bug != nil {
		return nil, vm.bug
	}
	defer func() {
		if r := recover(); r != nil {
			vm.recordBug(Recovered(r, ""))
			out, err = nil, vm.bug
		}
	}()
	if h := vm.env.TestHook; h != nil {
		h("call")
	}
	L := vm.state
	L.SetContext(ctx)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	vm.trace = ""
	if err := vm.protectedCall(L, len(args), lua.MultRet, vm.handler); err != nil {
		L.SetTop(top)
		return nil, vm.scriptError(ctx, err)
	}
	n := L.GetTop() - top
	if n > 0 {
		out = make([]lua.LValue, n)
		for i := range n {
			out[i] = L.Get(top + 1 + i)
		}
	}
	L.SetTop(top)
	return out, nil
}

// ScriptError is a Lua error that escaped the script.
type ScriptError struct {
	// Message is the error as the script would print it.
	Message string
	// Type is the error value's type field when the script raised a
	// spellhost error value (tool errors), else "".
	Type tools.ErrorType
	// Traceback is where it happened, innermost first, at most 20 frames.
	Traceback string
	cause     error
}

func (e *ScriptError) Error() string { return e.Message }

// Unwrap returns the context cause when the script was stopped by a limit.
func (e *ScriptError) Unwrap() error { return e.cause }

func (vm *VM) scriptError(ctx context.Context, err error) error {
	se := &ScriptError{Traceback: vm.trace}
	if ctx.Err() != nil {
		se.cause = context.Cause(ctx)
		if se.cause == nil {
			se.cause = ctx.Err()
		}
		se.Message = se.cause.Error()
		se.Type = tools.TypeOf(se.cause)
		return se
	}
	var api *lua.ApiError
	if errors.As(err, &api) {
		se.Message, se.Type = vm.describe(ctx, api.Object)
		if se.Message == "" {
			se.Message = api.Error()
		}
	} else {
		se.Message = err.Error()
	}
	return se
}

// describe renders an error value: a string as is, a spellhost error
// value as "where type: message", anything else through a protected
// tostring (describeValue).
func (vm *VM) describe(ctx context.Context, v lua.LValue) (string, tools.ErrorType) {
	if v == nil {
		return "", ""
	}
	if t, ok := v.(*lua.LTable); ok && t.Metatable == vm.errMeta {
		msg := vm.errString(t)
		if where := lua.LVAsString(t.RawGetString("where")); where != "" {
			msg = where + " " + msg
		}
		return msg, tools.ErrorType(lua.LVAsString(t.RawGetString("type")))
	}
	if s, ok := v.(lua.LString); ok {
		return string(s), ""
	}
	if v == lua.LNil {
		return "nil (the script raised an error without a value)", ""
	}
	return vm.describeValue(ctx, v), ""
}

// messageHandler runs where the error happened, before the stack unwinds:
// it records a traceback of at most 20 frames and returns the error value
// unchanged. gopher-lua's own traceback is skipped: it writes one line per
// tail call, which makes stopping an infinite tail call take seconds.
func (vm *VM) messageHandler(L *lua.LState) int {
	var b strings.Builder
	b.WriteString("stack traceback:")
	frames := 0
	var last *lua.Debug
	for level := 1; frames < 20; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sln", dbg, lua.LNil); err != nil {
			break
		}
		if last != nil && *last == *dbg {
			break // tail calls make GetStack repeat its bottom frame
		}
		cp := *dbg
		last = &cp
		if dbg.What == "G" {
			continue
		}
		name := dbg.Name
		if name == "" {
			name = "?"
		}
		fmt.Fprintf(&b, "\n\t%s:%d: in ", dbg.Source, dbg.CurrentLine)
		switch {
		case dbg.What == "main":
			b.WriteString("main chunk")
		case dbg.What == "tail":
			fmt.Fprintf(&b, "function '%s' (after tail calls)", name)
		default:
			fmt.Fprintf(&b, "function '%s'", name)
		}
		frames++
	}
	vm.trace = b.String()
	return 1
}
