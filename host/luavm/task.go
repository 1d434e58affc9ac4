package luavm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/tools"
)

func init() {
	declareTable("Task", "The kernel's async task API: submit a tool call or a Lua function now, collect it later. "+
		"States: queued, running, retrying, then one of succeeded, failed, timed_out, cancelled.")
	declare(taskSubmit, taskStatus, taskWait, taskWaitAll, taskCancel, taskList, taskStats, taskSpend)
}

const statusDoc = "{id, name, state, attempts, max_attempts, priority, tags, submitted, started, finished, " +
	"queue_wait_s, run_time_s, worker, result, error = {type, message}}"

var taskSubmit = &Func{
	Table: "Task", Name: "submit",
	Args: []Arg{{Name: "spec", Type: "TaskSpec",
		Doc: "{tool = NAME, params = {...}} or {fn = function(...) end, args = {...}}, with optional timeout (per attempt, " +
			"default 60s), retries (0-100), backoff (base, default 100ms), max_backoff (default 10s), priority, tags, budget, cost"}},
	Returns: []Ret{{Name: "id", Type: "string", Doc: "the task's id, as t-000001"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound, task.TypeQueueFull},
	Doc: "Queues a task and returns its id at once. A fn task runs in a task worker's own Lua state: it sees the " +
		"spellhost API and the script's global functions it calls (those that capture no local variables), but not " +
		"local variables or global data; pass data in args. A full queue raises queue_full; nothing is queued then. " +
		"With options.tasks set, submit from scenario functions, not the script's top level: the options take effect " +
		"after the top level has run.",
	Example: "local id = Task.submit{tool = \"calculator\", params = {input = \"6*7\"}, timeout = \"5s\", retries = 2}\n" +
		"local st = Task.wait(id)\nassert(st.state == \"succeeded\" and st.result.result == 42)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		t := vm.checkTable(L, f, 1)
		m, err := vm.kern.Tasks()
		if err != nil {
			return vm.raise(L, err, "")
		}
		spec, err := vm.taskSpec(L, f, t)
		if err != nil {
			return vm.raise(L, err, "")
		}
		id, err := m.Submit(spec)
		if err != nil {
			return vm.raise(L, err, "")
		}
		L.Push(lua.LString(id))
		return 1
	},
}

// taskSpec reads Task.submit's table.
func (vm *VM) taskSpec(L *lua.LState, f *Func, t *lua.LTable) (task.Spec, error) {
	var spec task.Spec
	var toolName string
	var params, args lua.LValue = lua.LNil, lua.LNil
	var fn *lua.LFunction
	var bad error
	num := func(k string, v lua.LValue) float64 {
		n, ok := v.(lua.LNumber)
		if !ok && bad == nil {
			bad = tools.Invalid("Task.submit: %s: expected number, got %s", k, luaTypeName(v))
		}
		return float64(n)
	}
	dur := func(k string, v lua.LValue) time.Duration {
		d, err := luaTimeout(v)
		if err != nil && bad == nil {
			bad = tools.Invalid("Task.submit: %s: want seconds or a duration such as \"250ms\": %v", k, err)
		}
		return d
	}
	t.ForEach(func(k, v lua.LValue) {
		switch key := k.String(); key {
		case "tool":
			s, ok := v.(lua.LString)
			if !ok && bad == nil {
				bad = tools.Invalid("Task.submit: tool: expected string, got %s", luaTypeName(v))
			}
			toolName = string(s)
		case "params":
			params = v
		case "fn":
			lf, ok := v.(*lua.LFunction)
			if !ok && bad == nil {
				bad = tools.Invalid("Task.submit: fn: expected function, got %s", luaTypeName(v))
			}
			fn = lf
		case "args":
			args = v
		case "timeout":
			spec.Timeout = dur(key, v)
		case "backoff":
			spec.Backoff = dur(key, v)
		case "max_backoff":
			spec.MaxBackoff = dur(key, v)
		case "retries":
			spec.Retries = int(num(key, v))
		case "priority":
			spec.Priority = int(num(key, v))
		case "budget":
			spec.Budget = num(key, v)
		case "cost":
			spec.Cost = num(key, v)
		case "tags":
			tt, ok := v.(*lua.LTable)
			if !ok {
				if bad == nil {
					bad = tools.Invalid("Task.submit: tags: expected table, got %s", luaTypeName(v))
				}
				return
			}
			spec.Tags = map[string]string{}
			tt.ForEach(func(tk, tv lua.LValue) { spec.Tags[tk.String()] = lua.LVAsString(tv) })
		default:
			if bad == nil {
				bad = tools.Invalid("Task.submit: unknown field %q (known: tool, params, fn, args, timeout, retries, "+
					"backoff, max_backoff, priority, tags, budget, cost)", key)
			}
		}
	})
	if bad != nil {
		return spec, bad
	}
	maxBytes := vm.kern.Options().MaxRequestBytes
	switch {
	case toolName != "" && fn != nil:
		return spec, tools.Invalid("Task.submit: give tool or fn, not both")
	case toolName != "":
		if args != lua.LNil {
			return spec, tools.Invalid("Task.submit: args go with fn; a tool takes params")
		}
		if _, err := vm.kern.Registry().Get(toolName); err != nil {
			return spec, err
		}
		var p map[string]any
		if params != lua.LNil {
			v, err := vm.toGo(params, maxBytes)
			if err != nil {
				return spec, tools.Errorf(convType(err), "Task.submit: params: %v", err)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return spec, tools.Invalid("Task.submit: params must be a table with named fields")
			}
			p = m
		}
		s := vm.kern.ToolTask(toolName, p)
		spec.Name, spec.Run, spec.Work = s.Name, s.Run, s.Work
	case fn != nil:
		if params != lua.LNil {
			return spec, tools.Invalid("Task.submit: params go with tool; a fn takes args")
		}
		if fn.Proto == nil {
			return spec, tools.Invalid("Task.submit: fn must be a Lua function, not a built-in")
		}
		if len(fn.Upvalues) > 0 {
			names := fn.Proto.DbgUpvalues
			return spec, tools.Invalid("Task.submit: fn captures local variables (%v); a task runs in another Lua state, "+
				"so make them globals or pass them in args", names)
		}
		var a []any
		if args != lua.LNil {
			at, ok := args.(*lua.LTable)
			if !ok {
				return spec, tools.Invalid("Task.submit: args: expected a list, got %s", luaTypeName(args))
			}
			for i := 1; i <= at.Len(); i++ {
				v, err := vm.toGo(at.RawGetInt(i), maxBytes)
				if err != nil {
					return spec, tools.Errorf(convType(err), "Task.submit: args[%d]: %v", i, err)
				}
				a = append(a, v)
			}
		}
		globals, err := vm.globalFuncs(fn.Proto)
		if err != nil {
			return spec, err
		}
		spec.Name = "fn"
		spec.Run = vm.env.workers().runner(vm.prog, fn.Proto, a, globals)
	default:
		return spec, tools.Invalid("Task.submit: give tool = NAME (with params) or fn = function (with args)")
	}
	return spec, nil
}

// workerPool holds the Lua states that run fn tasks, one per task worker
// at most. A state is reused by the next task only when the last one left
// it pristine (taskstate.go); else it is closed and the next task gets a
// new one, so every task starts from a clean state.
type workerPool struct {
	env  *Env
	mu   sync.Mutex
	idle []*VM
	n    int
	// made and discarded count the states made and those a task left
	// changed, for tests and benchmarks.
	made, discarded int
}

func (e *Env) workers() *workerPool {
	e.poolOnce.Do(func() { e.pool = &workerPool{env: e} })
	return e.pool
}

const workerVMBase = 1 << 20 // worker VM ids start here (Exec.vu stays 0 in them)

// maxTaskGlobals bounds the global functions one fn task carries along.
const maxTaskGlobals = 256

// globalFuncs finds the global functions proto refers to, and those they
// refer to in turn: each must be a Lua function without upvalues, so a
// worker state can make its own copy from the same compiled code.
func (vm *VM) globalFuncs(proto *lua.FunctionProto) (map[string]*lua.FunctionProto, error) {
	out := map[string]*lua.FunctionProto{}
	seen := map[*lua.FunctionProto]bool{}
	var walk func(p *lua.FunctionProto) error
	walk = func(p *lua.FunctionProto) error {
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, c := range p.Constants {
			name, ok := c.(lua.LString)
			if !ok {
				continue
			}
			if _, done := out[string(name)]; done {
				continue
			}
			g, ok := vm.state.GetGlobal(string(name)).(*lua.LFunction)
			if !ok || g.Proto == nil {
				continue
			}
			if len(g.Upvalues) > 0 {
				return tools.Invalid("Task.submit: fn calls the global function %s, which captures local variables %v; "+
					"a task runs in another Lua state, so make them globals or pass them in args", name, g.Proto.DbgUpvalues)
			}
			if len(out) == maxTaskGlobals {
				return tools.Invalid("Task.submit: fn reaches more than %d global functions", maxTaskGlobals)
			}
			out[string(name)] = g.Proto
			if err := walk(g.Proto); err != nil {
				return err
			}
		}
		for _, sub := range p.FunctionPrototypes {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(proto)
}

func (p *workerPool) get(prog *Program) (*VM, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		vm := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return vm, nil
	}
	p.n++
	p.made++
	id := workerVMBase + p.n
	p.mu.Unlock()
	vm, err := New(p.env, prog, id)
	if err != nil {
		return nil, fmt.Errorf("starting a task worker's Lua state: %w", err)
	}
	vm.exec.RawSetString("vu", lua.LNumber(0)) // a worker is no VU
	vm.prepareWorker()
	return vm, nil
}

// put takes a state back after a task: kept when the task left it
// pristine, else closed.
func (p *workerPool) put(vm *VM, globals map[string]*lua.FunctionProto) {
	if !vm.resetAfterTask(globals) {
		vm.Close()
		p.mu.Lock()
		p.discarded++
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	p.idle = append(p.idle, vm)
	p.mu.Unlock()
}

// Close closes the idle worker states.
func (p *workerPool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, vm := range idle {
		vm.Close()
	}
}

// TaskStates returns how many task worker states were made and how many
// of them a task left changed (and so were closed), so far.
func (e *Env) TaskStates() (made, discarded int) {
	p := e.workers()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.made, p.discarded
}

// runner returns a task runner that calls proto in a worker state.
func (p *workerPool) runner(prog *Program, proto *lua.FunctionProto, args []any, globals map[string]*lua.FunctionProto) task.Runner {
	return func(ctx context.Context, a *task.Attempt) (any, error) {
		vm, err := p.get(prog)
		if err != nil {
			return nil, tools.Failed("%v", err)
		}
		type out struct {
			res any
			err error
		}
		done := make(chan out, 1)
		start := time.Now()
		go func() {
			var o out
			defer func() {
				if r := recover(); r != nil {
					vm.recordBug(Recovered(r, "task "+a.ID()))
					o = out{err: &tools.Error{Type: tools.TypeInternal, Op: "task fn", Err: vm.bug}}
				}
				if vm.bug != nil && p.env.OnInternalError != nil {
					p.env.OnInternalError(vm.bug)
				}
				done <- o
			}()
			if h := p.env.TestHook; h != nil {
				h("task")
			}
			vm.attempt = a
			vm.Recorder = p.env.taskRecorder(a)
			if vm.Recorder != nil {
				defer vm.Recorder.Buf.Flush() // before done is sent
			}
			vm.src.Seed(p.env.Seed, taskStream(a.ID()))
			g := vm.state.G.Global
			for name, gp := range globals {
				g.RawSetString(name, vm.state.NewFunctionFromProto(gp))
			}
			fn := vm.state.NewFunctionFromProto(proto)
			largs := make([]lua.LValue, len(args))
			for i, v := range args {
				largs[i] = vm.fromGo(v)
			}
			rets, err := vm.call(ctx, fn, largs...)
			var ie *InternalError
			switch {
			case errors.As(err, &ie):
				o.err = &tools.Error{Type: tools.TypeInternal, Op: "task fn", Err: ie}
			case err != nil:
				o.err = taskError(ctx, err)
			case len(rets) > 0:
				o.res, o.err = vm.toGo(rets[0], vm.kern.Options().MaxRequestBytes)
				if o.err != nil {
					o.err = tools.Errorf(convType(o.err), "task result: %v", o.err)
				}
			}
		}()
		select {
		case o := <-done:
			p.put(vm, globals)
			return o.res, o.err
		case <-ctx.Done():
		}
		// The state checks its context; give it as long again (100ms-2s)
		// to stop, then abandon it rather than reuse a runaway state.
		grace := min(max(time.Since(start), 100*time.Millisecond), 2*time.Second)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case o := <-done:
			p.put(vm, globals)
			return o.res, o.err
		case <-t.C:
			return nil, &tools.Error{Type: tools.TypeTimeout, Op: "task fn",
				Err: errors.New("the function did not stop after its limit; its Lua state was abandoned")}
		}
	}
}

// taskRecorder returns the recorder of one attempt of a fn task: into the
// run's store, under the run's tags and the task's own (which win), so
// its tool calls, checks and metrics carry them. Nil without a store.
func (e *Env) taskRecorder(a *task.Attempt) *Recorder {
	if e.Metrics == nil {
		return nil
	}
	r := NewRecorder(e.Metrics, e.Metrics.NewBuffer(256, time.Second))
	tags := maps.Clone(e.Tags())
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, a.Tags())
	r.SetTags(tags)
	return r
}

// taskStream is the random stream of a task's math.random: the run's
// seed and the task's number, so a task draws the same numbers in every
// run, whichever worker runs it and whatever ran there before.
func taskStream(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "t-"), 10, 64)
	return 1<<40 + n
}

// taskError classifies an error from a fn task: the error value's type
// when the script raised a spellhost error, the context's cause when the
// attempt ended, else execution_error.
func taskError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return kernelCtxError(ctx)
	}
	var se *ScriptError
	if errors.As(err, &se) {
		typ := se.Type
		if typ == "" {
			typ = tools.TypeExecution
		}
		return tools.Errorf(typ, "%s", se.Message)
	}
	return tools.Failed("%v", err)
}

func kernelCtxError(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) || errors.Is(cause, tools.ErrTimeout) {
		return &tools.Error{Type: tools.TypeTimeout, Op: "task fn", Err: cause}
	}
	return &tools.Error{Type: tools.TypeCancelled, Op: "task fn", Err: cause}
}

// withStatus runs op on the kernel's task manager and pushes the status
// it returns, or raises its error.
func (vm *VM) withStatus(L *lua.LState, op func(task.Queue) (task.Status, error)) int {
	m, err := vm.kern.Tasks()
	if err != nil {
		return vm.raise(L, err, "")
	}
	st, err := op(m)
	if err != nil {
		return vm.raise(L, err, "")
	}
	L.Push(vm.fromGo(kernel.StatusMap(st)))
	return 1
}

var taskStatus = &Func{
	Table: "Task", Name: "status",
	Args:    []Arg{{Name: "id", Type: "string"}},
	Returns: []Ret{{Name: "status", Type: "TaskStatus", Doc: statusDoc}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound},
	Doc:     "Returns a task's status now. Raises not_found for an unknown id, or one retention has dropped.",
	Example: "local st = Task.status(id)\nprint(st.state, st.attempts)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		id := vm.checkString(L, f, 1)
		return vm.withStatus(L, func(m task.Queue) (task.Status, error) { return m.Status(id) })
	},
}

// waitContext bounds a wait by an optional timeout argument.
func (vm *VM) waitContext(L *lua.LState, f *Func, i int) (context.Context, context.CancelFunc) {
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	v := L.Get(i)
	if v == lua.LNil {
		return context.WithCancel(ctx)
	}
	d, err := luaTimeout(v)
	if err != nil {
		vm.argError(L, f, i, "timeout: want a positive number of seconds or a duration such as \"5s\": %v", err)
	}
	if d <= 0 {
		vm.argError(L, f, i, "timeout: want a positive number of seconds or a duration such as \"5s\", got %s", describeArg(v))
	}
	return context.WithTimeoutCause(ctx, d, &kernel.TimeoutError{What: f.FullName(), Limit: d})
}

var taskWait = &Func{
	Table: "Task", Name: "wait",
	Args: []Arg{{Name: "id", Type: "string"},
		{Name: "timeout", Type: "number|string", Optional: true, Doc: "how long to wait; default: as long as the iteration may run"}},
	Returns: []Ret{{Name: "status", Type: "TaskStatus", Doc: "the final status"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound, tools.TypeTimeout},
	Doc:     "Waits until a task ends and returns its final status. A task that failed does not raise: check status.state. Raises timeout when the wait itself runs out.",
	Example: "local st = Task.wait(id, \"10s\")\nif st.state ~= \"succeeded\" then print(st.error.type, st.error.message) end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		id := vm.checkString(L, f, 1)
		ctx, cancel := vm.waitContext(L, f, 2)
		defer cancel()
		return vm.withStatus(L, func(m task.Queue) (task.Status, error) { return m.Wait(ctx, id) })
	},
}

var taskWaitAll = &Func{
	Table: "Task", Name: "wait_all",
	Args: []Arg{{Name: "ids", Type: "string[]"},
		{Name: "timeout", Type: "number|string", Optional: true, Doc: "how long to wait for all of them"}},
	Returns: []Ret{{Name: "statuses", Type: "TaskStatus[]", Doc: "final statuses, in the order of ids"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound, tools.TypeTimeout},
	Doc:     "Waits until every task ends and returns their final statuses in order. Raises timeout when the wait runs out.",
	Example: "local ids = {}\nfor i = 1, 10 do ids[i] = Task.submit{tool = \"uuid_generator\"} end\nfor _, st in ipairs(Task.wait_all(ids, 30)) do assert(st.state == \"succeeded\") end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		t := vm.checkTable(L, f, 1)
		ids := make([]string, 0, t.Len())
		for i := 1; i <= t.Len(); i++ {
			s, ok := t.RawGetInt(i).(lua.LString)
			if !ok {
				return vm.argError(L, f, 1, "ids[%d]: expected string, got %s", i, luaTypeName(t.RawGetInt(i)))
			}
			ids = append(ids, string(s))
		}
		ctx, cancel := vm.waitContext(L, f, 2)
		defer cancel()
		m, err := vm.kern.Tasks()
		if err != nil {
			return vm.raise(L, err, "")
		}
		sts, err := m.WaitAll(ctx, ids)
		if err != nil {
			return vm.raise(L, err, "")
		}
		out := L.CreateTable(len(sts), 0)
		for i, st := range sts {
			out.RawSetInt(i+1, vm.fromGo(kernel.StatusMap(st)))
		}
		if len(sts) == 0 {
			out.Metatable = vm.arrayMeta
		}
		L.Push(out)
		return 1
	},
}

var taskCancel = &Func{
	Table: "Task", Name: "cancel",
	Args:    []Arg{{Name: "id", Type: "string"}},
	Returns: []Ret{{Name: "status", Type: "TaskStatus", Doc: "the status after the request: cancelled, or running with cancel_requested until the attempt stops"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound},
	Doc:     "Cancels a task: a queued or retrying one at once, a running one by cancelling its attempt's context. A finished task is returned unchanged.",
	Example: "Task.cancel(id)\nassert(Task.wait(id).state == \"cancelled\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		id := vm.checkString(L, f, 1)
		return vm.withStatus(L, func(m task.Queue) (task.Status, error) { return m.Cancel(id) })
	},
}

var taskList = &Func{
	Table: "Task", Name: "list",
	Args: []Arg{{Name: "filter", Type: "{state?: string, tag?: string, offset?: integer, limit?: integer}", Optional: true,
		Doc: "state; tag as \"key:value\"; offset and limit (default 100, at most 1000) page the answer"}},
	Returns: []Ret{{Name: "page", Type: "TaskPage", Doc: "{tasks = {status...}, total, offset, next (-1 when no more)}"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Lists tasks in submit order, filtered by state or tag, one page at a time.",
	Example: "local page = Task.list{state = \"failed\", limit = 10}\nprint(page.total .. \" failed\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		var flt task.Filter
		if t := vm.optTable(L, f, 1); t != nil {
			t.ForEach(func(k, v lua.LValue) {
				switch k.String() {
				case "state":
					flt.State = lua.LVAsString(v)
				case "tag":
					flt.Tag = lua.LVAsString(v)
				case "offset", "limit":
					n, ok := v.(lua.LNumber)
					if !ok {
						vm.argError(L, f, 1, "%s: expected number, got %s", k.String(), luaTypeName(v))
					}
					if k.String() == "offset" {
						flt.Offset = int(n)
					} else {
						flt.Limit = int(n)
					}
				default:
					vm.argError(L, f, 1, "unknown field %q (known: state, tag, offset, limit)", k.String())
				}
			})
		}
		m, err := vm.kern.Tasks()
		if err != nil {
			return vm.raise(L, err, "")
		}
		p, err := m.List(flt)
		if err != nil {
			return vm.raise(L, err, "")
		}
		L.Push(vm.fromGo(kernel.PageMap(p)))
		return 1
	},
}

var taskStats = &Func{
	Table: "Task", Name: "stats",
	Returns: []Ret{{Name: "stats", Type: "TaskStats",
		Doc: "{workers, queue_cap, queued, running, retrying, succeeded, failed, timed_out, cancelled, submitted, rejected, " +
			"retries, rate_limit_waits, rate_limit_wait_s, retained, dropped, balanced, nodes}"}},
	Doc: "Returns the task manager's counters; balanced says every submitted task is in exactly one state. " +
		"With the jetstream backend, nodes lists the worker processes ({id, host, slots, running, done, started, last_seen}) " +
		"and each status names the worker that ran it.",
	Example: "local s = Task.stats()\nassert(s.balanced)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		m, err := vm.kern.Tasks()
		if err != nil {
			return vm.raise(L, err, "")
		}
		L.Push(vm.fromGo(kernel.QueueStatsMap(m)))
		return 1
	},
}

var taskSpend = &Func{
	Table: "Task", Name: "spend",
	Args:    []Arg{{Name: "amount", Type: "number", Doc: "what this step costs (tokens, say)"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, task.TypeBudget},
	Doc:     "Charges the running fn task's budget. Raises budget_exhausted when the amount would pass the budget; the task then fails without retrying. Only inside a fn task.",
	Example: "Task.submit{fn = function() Task.spend(1200) return \"done\" end, budget = 50000}",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		n, ok := L.Get(1).(lua.LNumber)
		if !ok {
			return vm.argError(L, f, 1, "expected number, got %s", luaTypeName(L.Get(1)))
		}
		if vm.attempt == nil {
			return vm.raise(L, tools.Invalid("Task.spend: only inside a function running as a task"), "")
		}
		if err := vm.attempt.Spend(float64(n)); err != nil {
			return vm.raise(L, err, "")
		}
		return 0
	},
}
