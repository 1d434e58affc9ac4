package luavm

// The coroutine library, bounded. gopher-lua's coroutines run on the
// VU's goroutine, each with a call stack of its own, so three things need
// spellhost's help:
//   - a coroutine runs under the context of whoever resumes it: gopher-lua
//     gives a coroutine its creator's context for good, so one made at the
//     top level and resumed in an iteration ignored the iteration's timeout,
//     and every suspended coroutine stayed registered in that context;
//   - resume (like pcall) nests Go calls: their depth is capped, as Lua
//     5.1 caps its C calls at 200, before the Go stack runs out;
//   - each coroutine is a Lua state of its own (about 15 KB): the live ones
//     are capped per VU (Limits.MaxCoroutines).

import (
	"runtime"
	"weak"

	lua "github.com/yuin/gopher-lua"
)

// maxNesting caps nested protected calls and resumes in one VM, as Lua
// 5.1's LUAI_MAXCCALLS caps C calls.
const maxNesting = 200

// enterNested counts one more nested protected call or resume, raising
// a stack overflow past the cap. Pair it with leaveNested.
func (vm *VM) enterNested(L *lua.LState) {
	if vm.nest >= maxNesting {
		L.RaiseError("stack overflow (pcall, xpcall, require and coroutine.resume nested more than %d deep)", maxNesting)
	}
	vm.nest++
}

func (vm *VM) leaveNested() { vm.nest-- }

// coroutineLib replaces create, wrap and resume in gopher-lua's library.
func (vm *VM) coroutineLib(co *lua.LTable) *lua.LTable {
	create, _ := co.RawGetString("create").(*lua.LFunction)
	resume, _ := co.RawGetString("resume").(*lua.LFunction)
	if create == nil || resume == nil || create.GFunction == nil || resume.GFunction == nil {
		return co // not gopher-lua's library as this file knows it: leave it
	}
	vm.coCreate, vm.coResume = create.GFunction, resume.GFunction
	co.RawSetString("create", vm.newFunction(vm.coroutineCreate))
	co.RawSetString("resume", vm.newFunction(vm.coroutineResume))
	co.RawSetString("wrap", vm.newFunction(vm.coroutineWrap))
	return co
}

// coroutineCreate is coroutine.create(fn).
func (vm *VM) coroutineCreate(L *lua.LState) int {
	L.CheckFunction(1)
	L.SetTop(1)
	vm.countCoroutine(L)
	// Without a context, gopher-lua gives the new thread none (rather
	// than a child of the creator's, kept for the thread's life); resume
	// gives it the resumer's.
	saved := L.RemoveContext()
	n := vm.coCreate(L)
	if saved != nil {
		L.SetContext(saved)
	}
	if th, ok := L.Get(-1).(*lua.LState); ok {
		vm.threads = append(vm.threads, weak.Make(th))
	}
	return n
}

// countCoroutine raises when the VM already holds MaxCoroutines live
// coroutines (suspended, running or normal). Dead and collected ones are
// dropped from the count first; when that is not enough, a garbage
// collection finds those the script no longer reaches.
func (vm *VM) countCoroutine(L *lua.LState) {
	max := vm.env.Limits.MaxCoroutines
	if len(vm.threads) < max {
		return
	}
	vm.pruneThreads()
	if len(vm.threads) >= max {
		runtime.GC()
		vm.pruneThreads()
	}
	if len(vm.threads) >= max {
		L.RaiseError("coroutine.create: %d coroutines are alive in this VU, the limit; let some finish or drop them", len(vm.threads))
	}
}

func (vm *VM) pruneThreads() {
	live := vm.threads[:0]
	for _, w := range vm.threads {
		if th := w.Value(); th != nil && !th.Dead {
			live = append(live, w)
		}
	}
	clear(vm.threads[len(live):])
	vm.threads = live
}

// coroutineResume is coroutine.resume(co, ...): the coroutine runs under
// the resumer's context, and the nesting is counted.
func (vm *VM) coroutineResume(L *lua.LState) int {
	th := L.CheckThread(1)
	vm.enterNested(L)
	defer vm.leaveNested()
	if L.Status(th) == "suspended" {
		if ctx := L.Context(); ctx != nil {
			th.SetContext(ctx)
		} else {
			th.RemoveContext()
		}
	}
	n := vm.coResume(L)
	if vm.bug != nil {
		L.RaiseError("%s", vm.bug.Error())
	}
	return n
}

// coroutineWrap is coroutine.wrap(fn): a function that resumes the
// coroutine and raises its errors, a string error prefixed with where the
// function was called, as Lua 5.1 does.
func (vm *VM) coroutineWrap(L *lua.LState) int {
	vm.coroutineCreate(L)
	th := L.Get(-1).(*lua.LState)
	L.Push(vm.newFunction(func(L *lua.LState) int {
		L.Insert(th, 1)
		vm.coroutineResume(L)
		// The stack holds the thread, then resume's results.
		if lua.LVAsBool(L.Get(2)) {
			return L.GetTop() - 2
		}
		errv := L.Get(3)
		if s, ok := errv.(lua.LString); ok {
			L.RaiseError("%s", string(s))
		}
		L.Error(errv, 0)
		return 0
	}))
	return 1
}
