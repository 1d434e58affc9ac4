package luavm

import (
	"fmt"
	"math"
	"runtime"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
)

// Removed lists what the sandbox takes out of the standard libraries.
// File, network, process and environment access go through tools, under
// the permission flags; env() reads allowed variables.
var Removed = []string{
	"dofile", "loadfile", "module", "require (replaced)", "io", "debug", "package",
	"os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "os.tmpname", "os.setlocale",
}

func (vm *VM) openSandbox() error {
	L := vm.L
	// base and string open now (strings' methods need the string table);
	// table, math, os and coroutine open on first use.
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.StringLibName, lua.OpenString},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		if err := L.PCall(1, 0, nil); err != nil {
			return fmt.Errorf("open %s library: %w", lib.name, err)
		}
	}
	g := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "module", "require", "_printregs", "newproxy"} {
		g.RawSetString(name, lua.LNil)
	}
	// openLib opens a standard library into a fresh table without
	// publishing it as a global (the lazy loader does that).
	openLib := func(name string, open lua.LGFunction) *lua.LTable {
		L.Push(L.NewFunction(open))
		L.Push(lua.LString(name))
		if err := L.PCall(1, 1, nil); err != nil {
			panic(fmt.Sprintf("open %s library: %v", name, err))
		}
		t, _ := L.Get(-1).(*lua.LTable)
		L.Pop(1)
		g.RawSetString(name, lua.LNil) // the loader sets it as it returns
		if t == nil {
			t = L.NewTable()
		}
		return t
	}
	vm.lazy("os", func() *lua.LTable {
		os := openLib(lua.OsLibName, lua.OpenOs)
		keep := map[string]bool{"time": true, "clock": true, "date": true, "difftime": true}
		var drop []string
		os.ForEach(func(k, _ lua.LValue) {
			if !keep[k.String()] {
				drop = append(drop, k.String())
			}
		})
		for _, k := range drop {
			os.RawSetString(k, lua.LNil)
		}
		return os
	})
	vm.lazy("table", func() *lua.LTable {
		t := openLib(lua.TabLibName, lua.OpenTable)
		t.RawSetString("concat", L.NewFunction(vm.tableConcat))
		return t
	})
	vm.lazy("math", func() *lua.LTable {
		m := openLib(lua.MathLibName, lua.OpenMath)
		m.RawSetString("random", L.NewFunction(vm.mathRandom))
		m.RawSetString("randomseed", L.NewFunction(vm.mathRandomSeed))
		return m
	})
	vm.lazy("coroutine", func() *lua.LTable { return openLib(lua.CoroutineLibName, lua.OpenCoroutine) })
	L.SetGlobal("pcall", L.NewFunction(vm.pcall))
	L.SetGlobal("error", L.NewFunction(luaError))
	L.SetGlobal("unpack", L.NewFunction(vm.unpack))
	L.SetGlobal("collectgarbage", L.NewFunction(collectGarbage))
	L.SetGlobal("load", L.NewFunction(vm.load))
	L.SetGlobal("loadstring", L.NewFunction(vm.loadstring))
	if s, ok := g.RawGetString("string").(*lua.LTable); ok {
		for name, fn := range stringOverrides(vm.env.Limits.MaxStringBytes) {
			s.RawSetString(name, L.NewFunction(fn))
		}
	}
	return nil
}

// pcall is Lua's pcall with a message handler that returns the error
// unchanged, so a caught error costs no traceback (gopher-lua's builds
// one per caught error, with a line per tail call).
func (vm *VM) pcall(L *lua.LState) int {
	if L.GetTop() < 1 {
		L.ArgError(1, "value expected")
	}
	err := L.PCall(L.GetTop()-1, lua.MultRet, vm.quiet)
	if err != nil {
		L.Push(lua.LFalse)
		if api, ok := err.(*lua.ApiError); ok {
			L.Push(api.Object)
		} else {
			L.Push(lua.LString(err.Error()))
		}
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// luaError is Lua's error. gopher-lua's counts levels from the erroring
// function itself for levels of 2 and more, so error(msg, 2) blamed the
// wrong line; this one blames the caller, as Lua does.
func luaError(L *lua.LState) int {
	obj := L.CheckAny(1)
	level := L.OptInt(2, 1)
	if s, ok := obj.(lua.LString); ok && level > 0 {
		// The position is put in front of a copy of the message.
		reserveMemory(L, len(s), "error")()
		L.Error(obj, level+1)
	}
	L.Error(obj, 0)
	return 0
}

// unpack is Lua's unpack with a cap on the number of results.
func (vm *VM) unpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	j := L.OptInt(3, t.Len())
	if i > j {
		return 0
	}
	n := int64(j) - int64(i) + 1
	if n > int64(vm.env.Limits.MaxResults) {
		L.RaiseError("unpack: %d results exceed the limit of %d", n, vm.env.Limits.MaxResults)
	}
	for k := i; k <= j; k++ {
		L.Push(t.RawGetInt(k))
	}
	return int(n)
}

// tableConcat is table.concat with the string size limit checked before
// anything is built.
func (vm *VM) tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	if int64(j)-int64(i) > int64(vm.env.Limits.MaxStringBytes) {
		L.RaiseError("table.concat: %d items exceed the %d-byte string limit", int64(j)-int64(i)+1, vm.env.Limits.MaxStringBytes)
	}
	total := 0
	for k := i; k <= j; k++ {
		switch v := t.RawGetInt(k).(type) {
		case lua.LString:
			total += len(v)
		case lua.LNumber:
			total += 24
		default:
			L.RaiseError("table.concat: invalid value (at index %d) in table for 'concat'", k)
		}
		if k < j {
			total += len(sep)
		}
		if total > vm.env.Limits.MaxStringBytes {
			L.RaiseError("table.concat: result exceeds the %d-byte string limit", vm.env.Limits.MaxStringBytes)
		}
	}
	var b strings.Builder
	release := reserveMemory(L, total, "table.concat")
	b.Grow(total)
	defer release()
	for k := i; k <= j; k++ {
		b.WriteString(lua.LVAsString(t.RawGetInt(k)))
		if k < j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// collectGarbage supports "collect" (a full Go collection) and "count"
// (live heap in KiB, read without stopping the world); other options are
// accepted and do nothing, as the Go collector has no steps.
func collectGarbage(L *lua.LState) int {
	switch opt := L.OptString(1, "collect"); opt {
	case "collect":
		runtime.GC()
		L.Push(lua.LNumber(0))
	case "count":
		L.Push(lua.LNumber(float64(kernel.HeapLive()) / 1024))
	case "step", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
	default:
		L.ArgError(1, "invalid option '"+opt+"'")
	}
	return 1
}

// load and loadstring compile source text only; bytecode is refused.
func (vm *VM) loadstring(L *lua.LState) int {
	src := L.CheckString(1)
	name := L.OptString(2, "=(load)")
	return vm.compileString(L, src, name)
}

func (vm *VM) load(L *lua.LState) int {
	if s, ok := L.Get(1).(lua.LString); ok {
		return vm.compileString(L, string(s), L.OptString(2, "=(load)"))
	}
	fn := L.CheckFunction(1)
	name := L.OptString(2, "=(load)")
	var b strings.Builder
	for {
		L.Push(fn)
		L.Call(0, 1)
		piece := L.Get(-1)
		L.Pop(1)
		if piece == lua.LNil {
			break
		}
		s, ok := piece.(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString("reader function must return a string"))
			return 2
		}
		if s == "" {
			break
		}
		b.WriteString(string(s))
		if b.Len() > vm.env.Limits.MaxStringBytes {
			L.RaiseError("load: chunk exceeds the %d-byte string limit", vm.env.Limits.MaxStringBytes)
		}
	}
	return vm.compileString(L, b.String(), name)
}

func (vm *VM) compileString(L *lua.LState, src, name string) int {
	name = strings.TrimPrefix(name, "=")
	proto, err := compileChunk(name, []byte(src))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(L.NewFunctionFromProto(proto))
	return 1
}

// math.random and math.randomseed use the VM's own generator, seeded from
// the run's --seed and the VU's number, so runs repeat exactly.
func (vm *VM) mathRandom(L *lua.LState) int {
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(vm.rand.Float64()))
	case 1:
		n := L.CheckInt64(1)
		if n < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(vm.rand.Int64N(n) + 1))
	default:
		lo, hi := L.CheckInt64(1), L.CheckInt64(2)
		if lo > hi {
			L.ArgError(2, "interval is empty")
		}
		if hi-lo >= math.MaxInt64 {
			L.ArgError(2, "interval is too large")
		}
		L.Push(lua.LNumber(lo + vm.rand.Int64N(hi-lo+1)))
	}
	return 1
}

func (vm *VM) mathRandomSeed(L *lua.LState) int {
	seed := L.CheckNumber(1)
	vm.src.Seed(uint64(int64(seed)), uint64(vm.ID))
	return 0
}
