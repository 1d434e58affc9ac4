package luavm

import lua "github.com/yuin/gopher-lua"

// SetTestFunc installs fn as a global function, guarded as every binding
// is, so tests can reach Go code that panics.
func (vm *VM) SetTestFunc(name string, fn lua.LGFunction) { vm.L.SetGlobal(name, vm.newFunction(fn)) }
