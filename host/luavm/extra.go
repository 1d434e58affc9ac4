package luavm

import (
	"fmt"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
	"spellhost/tools"
)

// Bindings for error-injection scenarios: registry changes, extra kernels,
// reading metrics back, and judging memory mid-run.

func init() {
	declare(toolRegister, toolUnregister, kernelNew, metricsStats, metricsMemory)
}

var toolRegister = &Func{
	Table: "Tool", Name: "register",
	Args: []Arg{{Name: "def", Type: "{name: string, like: string, description?: string}",
		Doc: "name: the new tool's name; like: an existing tool whose spec and behaviour it copies; description: optional"}},
	Returns: []Ret{{Name: "name", Type: "string"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound},
	Doc: "Registers a copy of an existing tool under a new name, so scenarios can change the registry while other VUs " +
		"list and invoke it. Raises validation_error when the name is taken or malformed.",
	Example: "Tool.register{name = \"calc_copy\", like = \"calculator\"}\nassert(Tool.invoke(\"calc_copy\", {input = \"1+1\"}).result == 2)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		def := vm.checkTable(L, f, 1)
		var name, like, desc string
		def.ForEach(func(k, v lua.LValue) {
			s, ok := v.(lua.LString)
			switch k.String() {
			case "name", "like", "description":
				if !ok {
					vm.argError(L, f, 1, "%s: expected string, got %s", k.String(), luaTypeName(v))
				}
			default:
				vm.argError(L, f, 1, "unknown field %q (known: name, like, description)", k.String())
			}
			switch k.String() {
			case "name":
				name = string(s)
			case "like":
				like = string(s)
			case "description":
				desc = string(s)
			}
		})
		if name == "" || like == "" {
			return vm.argError(L, f, 1, "name and like are required")
		}
		reg := vm.kern.Registry()
		orig, err := reg.Get(like)
		if err != nil {
			return vm.raise(L, err, like)
		}
		spec := *orig.Spec()
		spec.Name = name
		if desc != "" {
			spec.Description = desc
		}
		if err := reg.Register(tools.New(spec, orig.Invoke)); err != nil {
			return vm.raise(L, tools.Invalid("Tool.register: %v", err), name)
		}
		L.Push(lua.LString(name))
		return 1
	},
}

var toolUnregister = &Func{
	Table: "Tool", Name: "unregister",
	Args:    []Arg{{Name: "name", Type: "string"}},
	Returns: []Ret{{Name: "removed", Type: "boolean", Doc: "false when no such tool was registered"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Removes a tool from the registry. Calls in flight finish; later calls answer not_found.",
	Example: "Tool.unregister(\"calc_copy\")\nassert(not Tool.exists(\"calc_copy\"))",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		err := vm.kern.Registry().Unregister(vm.checkString(L, f, 1))
		L.Push(lua.LBool(err == nil))
		return 1
	},
}

// kernelHandle is a kernel a script started with Kernel.new.
type kernelHandle struct {
	k    *kernel.Kernel
	once sync.Once
}

func (h *kernelHandle) close() { h.once.Do(func() { h.k.Close() }) }

var kernelNew = &Func{
	Table: "Kernel", Name: "new",
	Returns: []Ret{{Name: "kernel", Type: "KernelHandle",
		Doc: "an object with :request(msg), :invoke(name, params [, opts]), :health() and :close()"}},
	Raises: []tools.ErrorType{tools.TypeValidation},
	Doc: "Starts another kernel in this process, over a registry of its own holding the same tools, so a scenario can " +
		"load several kernels at once. The kernel closes with :close() or when the VU ends.",
	Example: "local k = Kernel.new()\nassert(k:invoke(\"calculator\", {input = \"2+2\"}).result == 4)\nk:close()",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		if len(vm.kernels) >= maxKernelsPerVU {
			return vm.raise(L, tools.Invalid("Kernel.new: this VU already holds %d kernels; close some first", maxKernelsPerVU), "")
		}
		base := vm.env.Kernel
		reg, err := tools.NewRegistry(base.Registry().Tools()...)
		if err != nil {
			return vm.raise(L, err, "")
		}
		h := &kernelHandle{k: kernel.New(reg, base.Options())}
		vm.kernels = append(vm.kernels, h)
		ud := L.NewUserData()
		ud.Value = h
		ud.Metatable = vm.kernelMeta()
		L.Push(ud)
		return 1
	},
}

const maxKernelsPerVU = 64

func (vm *VM) kernelMeta() *lua.LTable {
	if vm.kmeta != nil {
		return vm.kmeta
	}
	L := vm.state
	check := func(L *lua.LState, method string) *kernelHandle {
		ud, ok := L.Get(1).(*lua.LUserData)
		h, ok2 := (*kernelHandle)(nil), false
		if ok {
			h, ok2 = ud.Value.(*kernelHandle)
		}
		if !ok2 {
			vm.raise(L, tools.Invalid("kernel:%s: call it with a colon, on a kernel from Kernel.new", method), "")
		}
		return h
	}
	// The methods run the same code as the global Kernel and Tool
	// functions, against the handle's kernel.
	with := func(method string, g *Func) *lua.LFunction {
		return vm.newFunction(func(L *lua.LState) int {
			h := check(L, method)
			L.Remove(1)
			saved := vm.kern
			vm.kern = h.k
			defer func() { vm.kern = saved }()
			return g.fn(vm, L, g)
		})
	}
	idx := L.CreateTable(0, 5)
	idx.RawSetString("request", with("request", kernelRequest))
	idx.RawSetString("health", with("health", kernelHealth))
	idx.RawSetString("invoke", with("invoke", toolInvoke))
	idx.RawSetString("try", with("try", toolTry))
	idx.RawSetString("close", vm.newFunction(func(L *lua.LState) int {
		check(L, "close").close()
		return 0
	}))
	m := L.CreateTable(0, 2)
	m.RawSetString("__index", idx)
	m.RawSetString("__tostring", vm.newFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("kernel(%d tools)", check(L, "tostring").k.Registry().Len())))
		return 1
	}))
	vm.kmeta = m
	return m
}

var metricsStats = &Func{
	Table: "Metrics", Name: "stats",
	Args: []Arg{{Name: "query", Type: "string", Doc: "a metric name with optional tags, as in thresholds: \"iterations{scenario:baseline}\""}},
	Returns: []Ret{{Name: "stats", Type: "MetricStats|nil",
		Doc: "{count, sum, rate, value, min, max, avg, med, p90, p95, p99} so far (a counter's count is the sum added, as in thresholds), or nil for a metric never declared"}},
	Raises: []tools.ErrorType{tools.TypeValidation},
	Doc: "Reads a metric back while the run goes on: figures so far across every VU. Other running VUs flush what they " +
		"recorded every 100ms; once a scenario ends its values are all in, for its teardown and the scenarios after it. " +
		"Lets a scenario compare itself with an earlier one.",
	Example: "local base = Metrics.stats(\"iterations{scenario:baseline}\")\nprint(base.count)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		q, err := metrics.ParseQuery(vm.checkString(L, f, 1))
		if err != nil {
			return vm.raise(L, tools.Invalid("Metrics.stats: %v", err), "")
		}
		st := vm.metricsStore()
		if vm.Recorder != nil && vm.Recorder.Buf != nil {
			vm.Recorder.Buf.Flush()
		}
		s, _, ok := st.Stats(q, time.Since(st.Start()).Seconds())
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		t := L.CreateTable(0, 11)
		for _, kv := range []struct {
			k string
			v float64
		}{{"count", s.Total()}, {"sum", s.Sum}, {"rate", s.Rate}, {"value", s.Value}, {"min", s.Min},
			{"max", s.Max}, {"avg", s.Avg}, {"med", s.Med}, {"p90", s.P90}, {"p95", s.P95}, {"p99", s.P99}} {
			t.RawSetString(kv.k, lua.LNumber(kv.v))
		}
		L.Push(t)
		return 1
	},
}

var metricsMemory = &Func{
	Table: "Metrics", Name: "memory",
	Args: []Arg{{Name: "since", Type: "number", Optional: true, Default: "0",
		Doc: "judge only samples taken after this now() value, e.g. one recorded in a scenario's setup"}},
	Returns: []Ret{{Name: "report", Type: "MemoryReport",
		Doc: "{verdict = \"no leak\"|\"growth\"|\"leak\"|\"insufficient data\", reason, samples, heap_growth, rss_growth, " +
			"goroutine_growth, slope, r2, heap_live, rss, goroutines}"}},
	Raises: []tools.ErrorType{tools.TypeValidation},
	Doc: "Runs the leak verdict now, over the memory sampler's samples since a moment (no warm-up is discarded), with " +
		"the run's warn and fail levels; heap_live, rss and goroutines are a fresh sample. Lets a scenario prove the " +
		"verdict catches a leak it injected.",
	Example: "local t0 = now()\n-- ... inject a leak ...\nassert(Metrics.memory(t0).verdict == \"leak\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		since := 0.0
		if v := L.Get(1); v != lua.LNil {
			n, ok := v.(lua.LNumber)
			if !ok || n < 0 {
				return vm.argError(L, f, 1, "expected a now() value from 0, got %s", describeArg(v))
			}
			since = float64(n)
		}
		mem := vm.env.Memory
		if mem == nil {
			return vm.raise(L, tools.Invalid("Metrics.memory: the memory sampler runs only under spellhost run"), "")
		}
		samples, cfg, now := mem()
		from := time.Duration(since * float64(time.Second))
		var sel []metrics.MemSample
		for _, s := range samples {
			if s.At >= from {
				sel = append(sel, s)
			}
		}
		cfg.WarmUp = time.Nanosecond
		if len(sel) > 0 {
			cfg.WarmUp = sel[0].At
		}
		r := metrics.JudgeLeak(sel, cfg)
		t := L.CreateTable(0, 12)
		t.RawSetString("verdict", lua.LString(r.Verdict))
		t.RawSetString("reason", lua.LString(r.Reason))
		for _, kv := range []struct {
			k string
			v float64
		}{{"samples", float64(r.Samples)}, {"heap_growth", r.HeapGrowth}, {"rss_growth", r.RSSGrowth},
			{"goroutine_growth", r.GoroutineGrowth}, {"slope", r.Slope}, {"r2", r.R2},
			{"heap_live", float64(now.HeapLive)}, {"rss", float64(now.RSS)}, {"goroutines", float64(now.Goroutines)}} {
			t.RawSetString(kv.k, lua.LNumber(kv.v))
		}
		L.Push(t)
		return 1
	},
}
