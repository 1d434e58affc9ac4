package luavm

// Calls from Go into script values, and what spellhost does when its own
// code panics.
//
// Every Go function that runs script code under protection (pcall,
// xpcall, require, check, Fault.with, coroutine.resume and VM.Call) goes
// through VM.protectedCall, which:
//   - refuses to start at a full call stack, raising "stack overflow" to
//     the caller instead: gopher-lua's growing call stack loses eight
//     frames when a protected call starts in its very last slot, after
//     which nested pcalls recurse on the Go stack until the process dies;
//   - turns gopher-lua's "lua callstack overflow" panic into the error
//     "stack overflow";
//   - treats any other Go panic as a bug in spellhost: the VM records it
//     (InternalError, with the Go stack) and the error is raised again, so
//     no pcall in the script can swallow it and the run ends with exit 109.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// InternalError is a Go panic that spellhost caught while it ran a
// script: a bug in spellhost, not in the script. Value is what panicked;
// Stack is the Go stack where it happened.
type InternalError struct {
	Value any
	Stack string
	// Where names what was running: "VU 3", "task t-000002", "setup".
	Where string
}

func (e *InternalError) Error() string {
	msg := fmt.Sprintf("internal error (a bug in spellhost): %v", e.Value)
	if e.Where != "" {
		msg += " (in " + e.Where + ")"
	}
	return msg
}

// Recovered wraps a value recover() returned, with the current Go stack.
// Call it from the deferred function that recovered.
func Recovered(v any, where string) *InternalError {
	if ie, ok := v.(*InternalError); ok {
		return ie
	}
	return &InternalError{Value: v, Stack: string(debug.Stack()), Where: where}
}

// callstackOverflow is what gopher-lua panics with when a call would pass
// the call stack's size.
const callstackOverflow = "lua callstack overflow"

// overflowText is the error a script sees for it.
func (vm *VM) overflowText() string {
	return fmt.Sprintf("stack overflow (Lua calls nested deeper than %d)", vm.env.Limits.CallStackSize)
}

// luaPanic reports whether a recovered value is gopher-lua raising a Lua
// error (or its call stack overflow), rather than a Go bug.
func luaPanic(v any) bool {
	switch x := v.(type) {
	case *lua.ApiError:
		return true
	case string:
		return x == callstackOverflow
	}
	return false
}

// guard wraps a Go function installed in the state: a Lua error passes
// through unchanged; any other panic is recorded as an internal error and
// raised as a Lua error that every protected call raises again.
func (vm *VM) guard(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) (n int) {
		defer func() {
			if r := recover(); r != nil {
				if luaPanic(r) {
					panic(r)
				}
				vm.recordBug(Recovered(r, ""))
				panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: lua.LString(vm.bug.Error())})
			}
		}()
		return fn(L)
	}
}

// newFunction makes a Go function for the state, guarded.
func (vm *VM) newFunction(fn lua.LGFunction) *lua.LFunction {
	return vm.state.NewFunction(vm.guard(fn))
}

// recordBug keeps the first internal error of the VM.
func (vm *VM) recordBug(ie *InternalError) {
	if vm.bug == nil {
		vm.bug = ie
	}
}

// Broken returns the internal error that made the VM unusable, or nil.
func (vm *VM) Broken() *InternalError { return vm.bug }

// probe is a Go function that does nothing: calling it checks that one
// more frame fits on the call stack.
func probe(*lua.LState) int { return 0 }

// protectedCall is L.PCall for every protected call spellhost makes (see
// the top of this file). The function and its nargs arguments are on the
// stack, as for L.PCall.
func (vm *VM) protectedCall(L *lua.LState, nargs, nret int, handler *lua.LFunction) error {
	vm.enterNested(L)
	defer vm.leaveNested()
	// At a full call stack this raises the overflow to our caller,
	// before L.PCall records a depth its unwinding would get wrong.
	L.Push(vm.probeFn)
	L.Call(0, 0)
	err := L.PCall(nargs, nret, handler)
	if err == nil {
		return nil
	}
	if vm.bug != nil {
		L.RaiseError("%s", vm.bug.Error())
	}
	var api *lua.ApiError
	if !errors.As(err, &api) || api.Type != lua.ApiErrorPanic {
		return err
	}
	if s, ok := api.Object.(lua.LString); ok && string(s) == callstackOverflow {
		api.Object = lua.LString(vm.overflowText())
		return api
	}
	vm.recordBug(&InternalError{Value: lua.LVAsString(api.Object), Stack: api.StackTrace})
	L.RaiseError("%s", vm.bug.Error())
	return nil
}

// describeTimeout bounds the __tostring of an error value that escaped a
// call, when Go renders it for the report.
const describeTimeout = time.Second

// describeValue renders an error value that is neither a string nor a
// spellhost error: through its __tostring when it has one, run protected
// and bounded in time, so a __tostring that raises, loops or returns no
// string makes a clear message instead of taking the host down.
func (vm *VM) describeValue(ctx context.Context, v lua.LValue) string {
	L := vm.state
	fn, ok := L.GetMetaField(v, "__tostring").(*lua.LFunction)
	if !ok {
		if v.Type() == lua.LTNumber || v.Type() == lua.LTBool {
			return v.String()
		}
		return fmt.Sprintf("(error object is a %s value)", luaTypeName(v))
	}
	if ctx.Err() != nil {
		return fmt.Sprintf("(error object is a %s with a __tostring, not run: %s)", luaTypeName(v), ctxErrText(ctx))
	}
	dctx, cancel := context.WithTimeoutCause(ctx, describeTimeout,
		fmt.Errorf("did not return within %v", describeTimeout))
	defer cancel()
	saved := L.Context()
	L.SetContext(dctx)
	defer func() {
		if saved != nil {
			L.SetContext(saved)
		} else {
			L.RemoveContext()
		}
	}()
	top := L.GetTop()
	defer L.SetTop(top)
	L.Push(fn)
	L.Push(v)
	err := vm.protectedCall(L, 1, 1, vm.quiet)
	if err != nil {
		if dctx.Err() != nil {
			return fmt.Sprintf("(error object's __tostring %s)", ctxErrText(dctx))
		}
		var api *lua.ApiError
		msg := err.Error()
		if errors.As(err, &api) {
			if s, ok := api.Object.(lua.LString); ok {
				msg = string(s)
			} else {
				msg = "a " + luaTypeName(api.Object) + " value"
			}
		}
		return "(error object's __tostring raised: " + clip(msg, 500) + ")"
	}
	switch s := L.Get(-1).(type) {
	case lua.LString:
		return string(s)
	case lua.LNumber:
		return s.String()
	default:
		return fmt.Sprintf("(error object's __tostring returned a %s, not a string)", luaTypeName(s))
	}
}

// tostring is Lua's tostring for Go bindings (print, Logger, metric
// tags). It runs inside the script's protected call, so a __tostring that
// raises or loops meets the script's own error handling and context; one
// that returns neither a string nor a number is an error, as in Lua 5.1.
func tostring(L *lua.LState, v lua.LValue, what string) string {
	switch r := L.ToStringMeta(v).(type) {
	case lua.LString:
		return string(r)
	case lua.LNumber:
		return r.String()
	default:
		L.RaiseError("%s: '__tostring' must return a string, not a %s", what, luaTypeName(r))
		return ""
	}
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
