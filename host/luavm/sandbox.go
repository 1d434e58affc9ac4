package luavm

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"spellhost/internal/procmem"
)

// Removed lists what the sandbox takes out of the standard libraries.
// File, network, process and environment access go through tools, under
// the permission flags; env() reads allowed variables.
var Removed = []string{
	"dofile", "loadfile", "module", "require (replaced)", "io", "debug", "package",
	"os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "os.tmpname", "os.setlocale",
}

func (vm *VM) openSandbox() error {
	L := vm.state
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
	// publishing it as a global (the lazy loader does that). It runs
	// inside the loader, wherever the script first touches the library.
	openLib := func(L *lua.LState, name string, open lua.LGFunction) *lua.LTable {
		L.Push(L.NewFunction(open))
		L.Push(lua.LString(name))
		if err := vm.protectedCall(L, 1, 1, nil); err != nil {
			L.RaiseError("open the %s library: %v", name, err)
		}
		t, _ := L.Get(-1).(*lua.LTable)
		L.Pop(1)
		g.RawSetString(name, lua.LNil) // the loader sets it as it returns
		if t == nil {
			t = L.NewTable()
		}
		return t
	}
	vm.lazy("os", func(L *lua.LState) *lua.LTable {
		os := openLib(L, lua.OsLibName, lua.OpenOs)
		keep := map[string]bool{"time": true, "clock": true, "difftime": true}
		var drop []string
		os.ForEach(func(k, _ lua.LValue) {
			if !keep[k.String()] {
				drop = append(drop, k.String())
			}
		})
		for _, k := range drop {
			os.RawSetString(k, lua.LNil)
		}
		os.RawSetString("date", vm.newFunction(vm.osDate))
		return os
	})
	vm.lazy("table", func(L *lua.LState) *lua.LTable {
		t := openLib(L, lua.TabLibName, lua.OpenTable)
		t.RawSetString("concat", vm.newFunction(vm.tableConcat))
		t.RawSetString("sort", vm.newFunction(vm.tableSort))
		t.RawSetString("insert", vm.newFunction(vm.tableInsert))
		return t
	})
	vm.lazy("math", func(L *lua.LState) *lua.LTable {
		m := openLib(L, lua.MathLibName, lua.OpenMath)
		m.RawSetString("random", vm.newFunction(vm.mathRandom))
		m.RawSetString("randomseed", vm.newFunction(vm.mathRandomSeed))
		return m
	})
	vm.lazy("coroutine", func(L *lua.LState) *lua.LTable {
		return vm.coroutineLib(openLib(L, lua.CoroutineLibName, lua.OpenCoroutine))
	})
	for name, fn := range map[string]lua.LGFunction{
		"pcall": vm.pcall, "xpcall": vm.xpcall, "error": luaError, "unpack": vm.unpack,
		"collectgarbage": collectGarbage, "load": vm.load, "loadstring": vm.loadstring,
	} {
		L.SetGlobal(name, vm.newFunction(fn))
	}
	if s, ok := g.RawGetString("string").(*lua.LTable); ok {
		for name, fn := range stringOverrides(vm.env.Limits.MaxStringBytes) {
			s.RawSetString(name, vm.newFunction(fn))
		}
		s.RawSetString("byte", vm.newFunction(vm.strByte))
	}
	return nil
}

// pcall is Lua's pcall with a message handler that returns the error
// unchanged, so a caught error costs no traceback (gopher-lua's builds
// one per caught error, with a line per tail call). It runs through
// protectedCall, so a stack overflow is a clean error and a bug in
// spellhost is never swallowed.
func (vm *VM) pcall(L *lua.LState) int {
	if L.GetTop() < 1 {
		L.ArgError(1, "value expected")
	}
	err := vm.protectedCall(L, L.GetTop()-1, lua.MultRet, vm.quiet)
	if err != nil {
		L.Push(lua.LFalse)
		L.Push(errObject(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// xpcall is Lua's xpcall(f, handler): f runs without arguments; on an
// error, handler receives the error value and xpcall returns false and
// what the handler returned.
func (vm *VM) xpcall(L *lua.LState) int {
	fn := L.CheckAny(1)
	handler := L.CheckFunction(2)
	L.SetTop(2)
	L.Push(fn)
	// The script's handler does not run once spellhost hit a bug.
	guarded := vm.newFunction(func(L *lua.LState) int {
		if vm.bug != nil {
			return 1
		}
		L.Insert(handler, 1)
		L.Call(1, 1)
		return 1
	})
	if err := vm.protectedCall(L, 0, lua.MultRet, guarded); err != nil {
		L.SetTop(2)
		L.Push(lua.LFalse)
		L.Push(errObject(err))
		return 2
	}
	L.Insert(lua.LTrue, 3)
	return L.GetTop() - 2
}

// errObject is the Lua value of a protected call's error.
func errObject(err error) lua.LValue {
	if api, ok := err.(*lua.ApiError); ok {
		return api.Object
	}
	return lua.LString(err.Error())
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

// collectGarbage supports "collect" (a full Go collection) and "count"
// (live heap in KiB, read without stopping the world); other options are
// accepted and do nothing, as the Go collector has no steps.
func collectGarbage(L *lua.LState) int {
	switch opt := L.OptString(1, "collect"); opt {
	case "collect":
		runtime.GC()
		L.Push(lua.LNumber(0))
	case "count":
		L.Push(lua.LNumber(float64(procmem.HeapObjects()) / 1024))
	case "step", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
	default:
		L.ArgError(1, "invalid option '"+opt+"'")
	}
	return 1
}

// load and loadstring compile source text only; bytecode is refused.
// The source is capped at Limits.MaxLoadBytes (compiling costs about 100
// bytes of memory per byte of source) and the parser stops when the
// state's context ends.
func (vm *VM) loadstring(L *lua.LState) int {
	src := L.CheckString(1)
	name := L.OptString(2, "=(load)")
	return vm.compileString(L, "loadstring", src, name)
}

func (vm *VM) load(L *lua.LState) int {
	if s, ok := L.Get(1).(lua.LString); ok {
		return vm.compileString(L, "load", string(s), L.OptString(2, "=(load)"))
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
		if b.Len()+len(s) > vm.env.Limits.MaxLoadBytes {
			L.RaiseError("load: chunk of more than %d bytes exceeds the limit of %d", b.Len()+len(s), vm.env.Limits.MaxLoadBytes)
		}
		b.WriteString(string(s))
	}
	return vm.compileString(L, "load", b.String(), name)
}

func (vm *VM) compileString(L *lua.LState, what, src, name string) int {
	if len(src) > vm.env.Limits.MaxLoadBytes {
		L.RaiseError("%s: chunk of %d bytes exceeds the limit of %d", what, len(src), vm.env.Limits.MaxLoadBytes)
	}
	name = strings.TrimPrefix(name, "=")
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	proto, err := compileChunkCtx(ctx, name, []byte(src))
	if err != nil {
		checkCtx(L)
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
