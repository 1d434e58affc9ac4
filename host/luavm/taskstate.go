package luavm

// A task worker's Lua state is reused from one fn task to the next only
// when the task left it exactly as it was made: every table a script can
// reach in a fresh state (the globals, the libraries, the metatables of
// strings, errors and JSON values), every function's environment, and the
// state's Go-side parts. A task that changed anything (replaced
// string.upper or Tool.invoke, set a global, changed a metatable) costs a
// new state for the next task instead. Checking is about ten times cheaper
// than making a state (see BenchmarkFnTask).

import (
	lua "github.com/yuin/gopher-lua"
)

// pristine is what a task worker's state looked like when it was made.
type pristine struct {
	env     lua.LValue // the thread's environment (setfenv(0, t) changes it)
	globals map[string]lua.LValue
	tables  []tableSnap
	funcs   []funcSnap
	uds     []udSnap
}

// tableSnap is one table's contents. Checking it allocates nothing: each
// recorded key still holds its value; the array part is as long; and no
// key was added after the last one in the table's insertion order.
type tableSnap struct {
	t    *lua.LTable
	meta lua.LValue
	keys []lua.LValue
	vals []lua.LValue
	maxN int
	last lua.LValue // Next from here must find nothing
}

type funcSnap struct {
	fn  *lua.LFunction
	env *lua.LTable
}

type udSnap struct {
	ud   *lua.LUserData
	meta lua.LValue
}

// prepareWorker builds every lazily built global table of a new worker
// state, then records its pristine snapshot.
func (vm *VM) prepareWorker() {
	L := vm.state
	for name, build := range vm.lazyTables {
		L.G.Global.RawSetString(name, build(L))
	}
	clear(vm.lazyTables)
	vm.pristine = vm.snapshot()
}

// snapshot walks everything reachable from the state's roots.
func (vm *VM) snapshot() *pristine {
	L := vm.state
	p := &pristine{env: L.Env}
	seenT := map[*lua.LTable]bool{}
	seenF := map[*lua.LFunction]bool{}
	seenU := map[*lua.LUserData]bool{}
	var visit func(v lua.LValue)
	visit = func(v lua.LValue) {
		switch x := v.(type) {
		case *lua.LTable:
			if seenT[x] {
				return
			}
			seenT[x] = true
			s := tableSnap{t: x, meta: x.Metatable, maxN: x.MaxN(), last: lua.LNumber(x.MaxN())}
			for k, val := x.Next(lua.LNil); k != lua.LNil; k, val = x.Next(k) {
				s.keys = append(s.keys, k)
				s.vals = append(s.vals, val)
				if _, isNum := k.(lua.LNumber); !isNum || int(k.(lua.LNumber)) > s.maxN {
					s.last = k
				}
			}
			p.tables = append(p.tables, s)
			visit(x.Metatable)
			for i := range s.keys {
				visit(s.keys[i])
				visit(s.vals[i])
			}
		case *lua.LFunction:
			if seenF[x] {
				return
			}
			seenF[x] = true
			p.funcs = append(p.funcs, funcSnap{fn: x, env: x.Env})
			visit(x.Env)
		case *lua.LUserData:
			if seenU[x] {
				return
			}
			seenU[x] = true
			p.uds = append(p.uds, udSnap{ud: x, meta: x.Metatable})
			visit(x.Metatable)
		}
	}
	visit(L.Env)
	visit(L.G.Global)
	visit(L.GetMetatable(lua.LString("")))
	visit(vm.errMeta)
	visit(vm.arrayMeta)
	visit(vm.null)
	p.globals = map[string]lua.LValue{}
	L.G.Global.ForEach(func(k, v lua.LValue) {
		if name, ok := k.(lua.LString); ok {
			p.globals[string(name)] = v
		}
	})
	return p
}

// clean reports whether the state is as the snapshot recorded it.
func (p *pristine) clean(L *lua.LState) bool {
	if L.Env != p.env {
		return false
	}
	for i := range p.tables {
		s := &p.tables[i]
		t := s.t
		if t.Metatable != s.meta || t.MaxN() != s.maxN {
			return false
		}
		for j, k := range s.keys {
			if t.RawGet(k) != s.vals[j] {
				return false
			}
		}
		if k, _ := t.Next(s.last); k != lua.LNil {
			return false
		}
	}
	for _, f := range p.funcs {
		if f.fn.Env != f.env {
			return false
		}
	}
	for _, u := range p.uds {
		if u.ud.Metatable != u.meta {
			return false
		}
	}
	return true
}

// resetAfterTask drops what a task left in the state's Go-side parts and
// reports whether the state may run another task.
func (vm *VM) resetAfterTask(globals map[string]*lua.FunctionProto) bool {
	g := vm.state.G.Global
	for name := range globals {
		// Put back what the fresh state had under the name (usually
		// nothing; a script's own print, say, shadowed the built-in).
		orig, ok := vm.pristine.globals[name]
		if !ok {
			orig = lua.LNil
		}
		g.RawSetString(name, orig)
	}
	for _, h := range vm.kernels {
		h.close()
	}
	vm.kernels = nil
	vm.loaded = vm.state.CreateTable(0, 4)
	vm.threads = nil
	vm.kmeta, vm.metricMt = nil, nil
	vm.Recorder = nil
	vm.attempt = nil
	return vm.bug == nil && vm.nest == 0 && vm.pristine.clean(vm.state)
}
