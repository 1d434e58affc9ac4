package luavm

import (
	"context"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// Ref is a reference to a Lua value held by one VM, opaque outside this
// package: the host keeps functions and converted data in it without
// seeing gopher-lua. The zero Ref is nil. A Ref belongs to the VM that
// made it and may be given only to that VM: a Lua state is not safe for
// concurrent use, and a table of one state read by another is a data race.
// Call and FromLua refuse a Ref of another VM.
type Ref struct {
	vm *VM
	v  lua.LValue
}

// IsNil reports whether the value is nil (or the zero Ref).
func (v Ref) IsNil() bool { return v.v == nil || v.v == lua.LNil }

// IsFunction reports whether the value is a function.
func (v Ref) IsFunction() bool {
	_, ok := v.v.(*lua.LFunction)
	return ok
}

// lua returns the value for the VM vm: Lua nil for the zero Ref, an
// error for a value of another VM.
func (v Ref) lua(vm *VM) (lua.LValue, error) {
	if v.v == nil {
		return lua.LNil, nil
	}
	if v.vm != vm {
		return nil, Recovered(fmt.Sprintf("a Lua value of VM %d was given to VM %d", v.vm.ID, vm.ID), "")
	}
	return v.v, nil
}

// Global returns the global variable name (nil when it is not set). It is
// read raw: a metatable the script set on _G is not consulted, so looking
// a global up never runs script code outside a protected call.
func (vm *VM) Global(name string) Ref { return Ref{vm: vm, v: vm.global(name)} }

// HasFunction reports whether the global name is a function.
func (vm *VM) HasFunction(name string) bool { return vm.Global(name).IsFunction() }

// Call calls fn with args under ctx and returns its first result (nil when
// it returns none). A Lua error is a *ScriptError carrying the message,
// the error value and a bounded traceback; when ctx ended, the error also
// wraps context.Cause(ctx). A Go panic while the script ran is an
// *InternalError, and the VM refuses every later call with the same
// error; so is a Ref of another VM among fn and args.
func (vm *VM) Call(ctx context.Context, fn Ref, args ...Ref) (Ref, error) {
	f, err := fn.lua(vm)
	if err != nil {
		return Ref{}, err
	}
	var buf [4]lua.LValue
	largs := buf[:0]
	for _, a := range args {
		la, err := a.lua(vm)
		if err != nil {
			return Ref{}, err
		}
		largs = append(largs, la)
	}
	out, err := vm.call(ctx, f, largs...)
	if err != nil || len(out) == 0 {
		return Ref{}, err
	}
	return Ref{vm: vm, v: out[0]}, nil
}

// ToLua converts a JSON-like Go value (nil, bool, float64 and the other
// numbers, string, []any, map[string]any, and what tools return) into a
// Lua value of this VM. Maps become tables with string keys; slices become
// sequences; nil in a map drops the key and nil in a slice becomes
// JSON.null (so # stays right). Each call builds new tables: converting
// the same data for many VMs costs one conversion per VM.
func (vm *VM) ToLua(v any) Ref { return Ref{vm: vm, v: vm.fromGo(v)} }

// FromLua converts a value of this VM to a JSON-like Go value. maxBytes
// bounds the total size of its strings (no limit when negative). A table
// whose values are the sequence 1..n becomes []any (as does an empty table
// that JSON marked as an array); other tables become map[string]any with
// number keys written as integers. Functions, userdata, threads, cycles
// and NaN are errors naming where they are.
func (vm *VM) FromLua(v Ref, maxBytes int) (any, error) {
	lv, err := v.lua(vm)
	if err != nil {
		return nil, err
	}
	return vm.toGo(lv, maxBytes)
}

// Foreign stands, in what FromLuaForeign returns, for a Lua value with no
// Go form: a function, a coroutine, userdata. Type is its Lua type name.
type Foreign struct {
	Type string
}

// FromLuaForeign converts as FromLua does, except that a value with no Go
// form becomes a Foreign naming its type, and NaN and the infinities stay
// numbers, instead of errors: for a caller that checks every value itself
// and reports them all (the options table: a function given where its
// name was wanted, 0/0 where a count was). Cycles and nesting too deep are
// still errors.
func (vm *VM) FromLuaForeign(v Ref, maxBytes int) (any, error) {
	lv, err := v.lua(vm)
	if err != nil {
		return nil, err
	}
	c := converter{vm: vm, budget: maxBytes, foreign: true}
	return c.conv(lv, 0)
}
