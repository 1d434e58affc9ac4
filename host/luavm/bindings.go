package luavm

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/fault"
	"spellhost/tools"
)

// Func declares one Lua function spellhost provides. The same declaration
// installs the binding and generates docs/lua-api.md and the editor's meta
// file, so they cannot drift apart.
type Func struct {
	// Table is the global table holding the function ("Tool"), or "" for
	// a global function ("sleep").
	Table string
	Name  string
	Args  []Arg
	// Returns describes the results in order.
	Returns []Ret
	// Raises lists the error types the function raises as Lua errors.
	Raises []tools.ErrorType
	Doc    string
	// Example is two or three lines of Lua.
	Example string
	fn      func(vm *VM, L *lua.LState, f *Func) int
}

// Arg declares a parameter. Type is a lua-language-server type
// ("string", "number|string", "table<string, any>", "fun(v: any): boolean").
type Arg struct {
	Name     string
	Type     string
	Optional bool
	Default  string
	Doc      string
}

// Ret declares a result.
type Ret struct {
	Name string
	Type string
	Doc  string
}

// Value declares a global that is not a function (ARGS, JSON.null).
type Value struct {
	Table, Name, Type, Doc string
}

// FullName is Table.Name, or Name for a global function.
func (f *Func) FullName() string {
	if f.Table == "" {
		return f.Name
	}
	return f.Table + "." + f.Name
}

var (
	registry []*Func
	values   []*Value
	tables   = map[string]string{} // global table -> its description
)

// declare adds bindings; each file declares its own in init.
func declare(fs ...*Func) { registry = append(registry, fs...) }

func declareValue(vs ...*Value) { values = append(values, vs...) }

func declareTable(name, doc string) { tables[name] = doc }

// lazy registers a global table built on first access.
func (vm *VM) lazy(name string, build func(L *lua.LState) *lua.LTable) {
	if vm.lazyTables == nil {
		vm.lazyTables = map[string]func(*lua.LState) *lua.LTable{}
		L := vm.state
		meta := L.CreateTable(0, 1)
		meta.RawSetString("__index", vm.newFunction(func(L *lua.LState) int {
			k, ok := L.Get(2).(lua.LString)
			if !ok {
				return 0
			}
			b, ok := vm.lazyTables[string(k)]
			if !ok {
				return 0
			}
			delete(vm.lazyTables, string(k))
			t := b(L)
			L.G.Global.RawSetString(string(k), t)
			L.Push(t)
			return 1
		}))
		L.SetMetatable(L.G.Global, meta)
	}
	vm.lazyTables[name] = build
}

// Funcs returns every declared function, sorted by full name.
func Funcs() []*Func {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b *Func) int { return strings.Compare(a.FullName(), b.FullName()) })
	return out
}

// Values returns every declared non-function global, sorted.
func Values() []*Value {
	out := slices.Clone(values)
	slices.SortFunc(out, func(a, b *Value) int {
		return strings.Compare(a.Table+"."+a.Name, b.Table+"."+b.Name)
	})
	return out
}

// Tables returns the global tables and their descriptions.
func Tables() map[string]string { return tables }

func (vm *VM) installBindings() {
	L := vm.state
	vm.errMeta = L.CreateTable(0, 1)
	vm.errMeta.RawSetString("__tostring", vm.newFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.Push(lua.LString(vm.errString(t)))
		return 1
	}))
	vm.arrayMeta = L.CreateTable(0, 1)
	vm.arrayMeta.RawSetString("__jsontype", lua.LString("array"))
	null := L.NewUserData()
	nullMeta := L.CreateTable(0, 1)
	nullMeta.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("null")); return 1 }))
	null.Metatable = nullMeta
	vm.null = null
	vm.loaded = L.CreateTable(0, 4)

	// Global functions are installed now; the global tables (Tool, Task,
	// Fault, ...) are built on first use, so a VU pays only for the parts
	// of the API its script touches (a state is about half the size).
	byTable := map[string][]*Func{}
	for _, f := range registry {
		if f.Table == "" {
			f := f
			L.SetGlobal(f.Name, vm.newFunction(func(L *lua.LState) int { return f.fn(vm, L, f) }))
			continue
		}
		byTable[f.Table] = append(byTable[f.Table], f)
	}
	for name, fs := range byTable {
		vm.lazy(name, func(*lua.LState) *lua.LTable {
			t := L.CreateTable(0, len(fs)+1)
			for _, f := range fs {
				f := f
				t.RawSetString(f.Name, vm.newFunction(func(L *lua.LState) int { return f.fn(vm, L, f) }))
			}
			if name == "JSON" {
				t.RawSetString("null", vm.null)
			}
			return t
		})
	}
	vm.installValues()
}

// errString renders an error value as "type: message".
func (vm *VM) errString(t *lua.LTable) string {
	typ := lua.LVAsString(t.RawGetString("type"))
	msg := lua.LVAsString(t.RawGetString("message"))
	if typ == "" {
		return msg
	}
	return typ + ": " + msg
}

// errorValue builds the Lua error value of err: a table with type, message,
// tool (when one failed) and where (the script position), whose tostring is
// "type: message".
func (vm *VM) errorValue(L *lua.LState, err error, tool string) *lua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("type", lua.LString(tools.TypeOf(err)))
	t.RawSetString("message", lua.LString(err.Error()))
	if tool != "" {
		t.RawSetString("tool", lua.LString(tool))
	}
	var inj *fault.Injected
	if errors.As(err, &inj) {
		t.RawSetString("injected", lua.LString(inj.As))
	}
	if w := L.Where(1); w != "" {
		t.RawSetString("where", lua.LString(w))
	}
	t.Metatable = vm.errMeta
	return t
}

// raise raises err as a spellhost error value.
func (vm *VM) raise(L *lua.LState, err error, tool string) int {
	L.Error(vm.errorValue(L, err, tool), 0)
	return 0
}

// argError raises a validation error about argument i of f.
func (vm *VM) argError(L *lua.LState, f *Func, i int, format string, args ...any) int {
	name := fmt.Sprintf("#%d", i)
	if i-1 < len(f.Args) {
		name = fmt.Sprintf("#%d '%s'", i, f.Args[i-1].Name)
	}
	return vm.raise(L, tools.Invalid("%s: bad argument %s: %s", f.FullName(), name, fmt.Sprintf(format, args...)), "")
}

// checkString returns argument i as a string or raises.
func (vm *VM) checkString(L *lua.LState, f *Func, i int) string {
	v := L.Get(i)
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	if v == lua.LNil && i <= len(f.Args) && !f.Args[i-1].Optional {
		vm.argError(L, f, i, "missing (expected string)")
	}
	vm.argError(L, f, i, "expected string, got %s", luaTypeName(v))
	return ""
}

// optTable returns argument i as a table, nil when absent, or raises.
func (vm *VM) optTable(L *lua.LState, f *Func, i int) *lua.LTable {
	switch v := L.Get(i).(type) {
	case *lua.LTable:
		return v
	case *lua.LNilType:
		return nil
	default:
		vm.argError(L, f, i, "expected table, got %s", luaTypeName(v))
	}
	return nil
}

// checkTable returns argument i as a table or raises.
func (vm *VM) checkTable(L *lua.LState, f *Func, i int) *lua.LTable {
	t := vm.optTable(L, f, i)
	if t == nil {
		vm.argError(L, f, i, "missing (expected table)")
	}
	return t
}

// noMoreArgs raises when more than n arguments were passed.
func (vm *VM) noMoreArgs(L *lua.LState, f *Func, n int) {
	if top := L.GetTop(); top > n {
		vm.argError(L, f, n+1, "unexpected extra argument (%s takes %d)", f.FullName(), n)
	}
}
