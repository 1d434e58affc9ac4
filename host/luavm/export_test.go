package luavm

import (
	"context"

	lua "github.com/yuin/gopher-lua"
)

// SetTestFunc installs fn as a global function, guarded as every binding
// is, so tests can reach Go code that panics.
func (vm *VM) SetTestFunc(name string, fn lua.LGFunction) {
	vm.state.SetGlobal(name, vm.newFunction(fn))
}

// CallLua and GlobalLua give the tests gopher-lua's values, with every
// result of a call.
func (vm *VM) CallLua(ctx context.Context, fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	return vm.call(ctx, fn, args...)
}

func (vm *VM) GlobalLua(name string) lua.LValue { return vm.global(name) }
