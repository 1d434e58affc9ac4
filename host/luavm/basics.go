package luavm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/tools"
	"spellhost/tools/perm"
)

func init() {
	declareTable("Logger", "Leveled log lines on stderr: time, level, VU and message, with optional fields.")
	declare(logFunc("debug"), logFunc("info"), logFunc("warn"), logFunc("error"))
	declare(sleepFunc, nowFunc, envFunc, printFunc, requireFunc)
	declareValue(&Value{Name: "ARGS", Type: "string[]", Doc: "the script's arguments: what follows -- on the command line"})
	declareValue(&Value{Name: "ENV", Type: "table<string, string>",
		Doc: "the variables given with -e KEY=VALUE (repeatable), as k6's __ENV; readable without --allow-env. A name not given is nil."})
	declareTable("Exec", "Where the running code is, as k6's k6/execution: the VU, its scenario and iteration numbers.")
	declareValue(
		&Value{Table: "Exec", Name: "vu", Type: "integer", Doc: "this VU's number, from 1 (0 in the init context, setup and teardown)"},
		&Value{Table: "Exec", Name: "scenario", Type: "string", Doc: "the running scenario's name (\"\" outside one)"},
		&Value{Table: "Exec", Name: "iteration", Type: "integer", Doc: "this VU's iteration number in its scenario, from 0"},
		&Value{Table: "Exec", Name: "scenario_iteration", Type: "integer", Doc: "the iteration's number among all of the scenario's iterations, from 0"},
	)
}

var logLevels = map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3}

func logFunc(level string) *Func {
	f := &Func{
		Table: "Logger", Name: level,
		Args: []Arg{
			{Name: "message", Type: "any", Doc: "converted with tostring"},
			{Name: "fields", Type: "table<string, any>", Optional: true, Doc: "key=value pairs appended to the line, sorted by key"},
		},
		Raises:  []tools.ErrorType{tools.TypeValidation},
		Doc:     fmt.Sprintf("Writes a %s line to stderr when --log-level allows it.", level),
		Example: fmt.Sprintf("Logger.%s(\"checked\", {tool = \"calculator\", ms = 3})", level),
	}
	f.fn = func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		if logLevels[level] < logLevels[vm.env.LogLevel] {
			return 0
		}
		var b strings.Builder
		b.WriteString(time.Now().Format("15:04:05.000"))
		fmt.Fprintf(&b, " %-5s vu=%d %s", strings.ToUpper(level), vm.ID, tostring(L, L.Get(1), f.FullName()))
		if fields := vm.optTable(L, f, 2); fields != nil {
			v, err := vm.toGo(fields, 1<<20)
			if err != nil {
				return vm.argError(L, f, 2, "%v", err)
			}
			m, _ := v.(map[string]any)
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sortStrings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, " %s=%v", k, m[k])
			}
		}
		b.WriteByte('\n')
		vm.env.write(vm.env.Log, b.String())
		return 0
	}
	return f
}

var sleepFunc = &Func{
	Name:    "sleep",
	Args:    []Arg{{Name: "duration", Type: "number|string", Doc: "seconds, or a duration such as \"250ms\""}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeTimeout, tools.TypeCancelled},
	Doc:     "Pauses the VU. The pause ends early, with an error, when the iteration's timeout or the run's end arrives.",
	Example: "sleep(0.5)\nsleep(\"100ms\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		d, err := luaDuration(L.Get(1))
		if err != nil {
			return vm.argError(L, f, 1, "%v", err)
		}
		if d == 0 {
			return 0
		}
		ctx := L.Context()
		t := time.NewTimer(d)
		defer t.Stop()
		if ctx == nil {
			<-t.C
			return 0
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			L.RaiseError("%s", ctxErrText(ctx))
		}
		return 0
	},
}

var nowFunc = &Func{
	Name:    "now",
	Returns: []Ret{{Name: "seconds", Type: "number", Doc: "monotonic seconds since the run started"}},
	Doc:     "Returns a monotonic clock in seconds (with sub-microsecond precision), for measuring durations; it never goes backwards.",
	Example: "local t0 = now()\nTool.invoke(\"calculator\", {input = \"1+1\"})\nprint((now() - t0) * 1000, \"ms\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		L.Push(lua.LNumber(time.Since(vm.env.Start).Seconds()))
		return 1
	},
}

var envFunc = &Func{
	Name:    "env",
	Args:    []Arg{{Name: "name", Type: "string", Doc: "an environment variable"}},
	Returns: []Ret{{Name: "value", Type: "string?", Doc: "nil when the variable is not set"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypePermission},
	Doc: "Reads a variable of spellhost's own environment that --allow-env permits, or nil when it is not set; a variable " +
		"--allow-env does not permit raises permission_denied naming the flag, set or not. Values given on the command " +
		"line with -e KEY=VALUE are in the ENV table instead, which needs no permission.",
	Example: "-- spellhost run --allow-env=TARGET script.lua\nlocal target = env(\"TARGET\") or \"127.0.0.1\"",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		name := vm.checkString(L, f, 1)
		if vm.env.Perm == nil {
			return vm.raise(L, tools.Errorf(tools.TypePermission, "environment variable %s: not allowed; allow it with --allow-env=%s", name, name), "")
		}
		if err := vm.env.Perm.Env(name); err != nil {
			return vm.raise(L, err, "")
		}
		if v, ok := vm.env.LookupEnv(name); ok {
			L.Push(lua.LString(v))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	},
}

var printFunc = &Func{
	Name:    "print",
	Args:    []Arg{{Name: "...", Type: "any", Optional: true, Doc: "values, converted with tostring"}},
	Doc:     "Writes its arguments to stdout, separated by tabs, with a newline. Lines from concurrent VUs never interleave.",
	Example: "print(\"result\", 42)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		var b strings.Builder
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				b.WriteByte('\t')
			}
			b.WriteString(tostring(L, L.Get(i), "print"))
		}
		b.WriteByte('\n')
		vm.env.write(vm.env.Stdout, b.String())
		return 0
	},
}

var moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)

var requireFunc = &Func{
	Name:    "require",
	Args:    []Arg{{Name: "name", Type: "string", Doc: "a module name; dots separate folders (\"lib.util\" is lib/util.lua)"}},
	Returns: []Ret{{Name: "module", Type: "any", Doc: "what the module returned (true when nothing)"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound},
	Doc: "Loads a Lua module once per VU: first NAME.lua or NAME/init.lua in the script's folder, then the library shipped with spellhost " +
		"(lua/ in the source tree). Module paths cannot leave the script's folder.",
	Example: "local util = require(\"util\")      -- util.lua next to the script\nlocal expect = require(\"expect\")  -- shipped with spellhost",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		name := vm.checkString(L, f, 1)
		if !moduleName.MatchString(name) {
			return vm.argError(L, f, 1, "%q is not a module name (letters, digits, '_' and '-', dot-separated)", name)
		}
		switch v := vm.loaded.RawGetString(name); v {
		case lua.LNil:
		case loading:
			return vm.raise(L, tools.Invalid("require: module %q requires itself (a cycle)", name), "")
		default:
			L.Push(v)
			return 1
		}
		proto, err := vm.env.module(vm.prog.Dir, name)
		if err != nil {
			return vm.raise(L, err, "")
		}
		vm.loaded.RawSetString(name, loading)
		L.Push(L.NewFunctionFromProto(proto))
		L.Push(lua.LString(name))
		if err := vm.protectedCall(L, 1, 1, vm.quiet); err != nil {
			vm.loaded.RawSetString(name, lua.LNil)
			if api, ok := err.(*lua.ApiError); ok {
				L.Error(api.Object, 0)
			}
			L.RaiseError("%v", err)
		}
		v := L.Get(-1)
		L.Pop(1)
		if v == lua.LNil {
			v = lua.LTrue
		}
		vm.loaded.RawSetString(name, v)
		L.Push(v)
		return 1
	},
}

// loading marks a module whose chunk is running, to catch cycles.
var loading = lua.LString("\x00loading")

// module finds and compiles a module, caching the compiled chunk for
// every VU.
func (e *Env) module(dir, name string) (*lua.FunctionProto, error) {
	rel := strings.ReplaceAll(name, ".", "/")
	cands := []string{rel + ".lua", rel + "/init.lua"}
	if dir != "" {
		root, err := filepath.EvalSymlinks(dir)
		if err == nil {
			for _, c := range cands {
				key := filepath.Join(root, filepath.FromSlash(c))
				if proto, ok := e.modules.Load(key); ok {
					return proto.(*lua.FunctionProto), nil
				}
				src, err := readModule(root, c)
				if err == nil {
					return e.compileModule(key, c, src)
				}
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, moduleErr(name, root, c, err)
			}
		}
	}
	if e.Lib != nil {
		for _, c := range cands {
			key := "lib:" + c
			if proto, ok := e.modules.Load(key); ok {
				return proto.(*lua.FunctionProto), nil
			}
			src, err := fs.ReadFile(e.Lib, c)
			if err != nil {
				continue
			}
			return e.compileModule(key, "spellhost/"+c, src)
		}
	}
	return nil, tools.Errorf(tools.TypeNotFound, "require: module %q not found (looked for %s in the script's folder and in spellhost's library)", name, strings.Join(cands, " and "))
}

// readModule reads the module file c in the folder root through a handle
// on the folder: the operating system refuses a path that leaves it, by
// ".." or by a link, at the moment of the open. Only a regular file is
// read; a FIFO or device is refused on the opened handle, without waiting
// on it.
func readModule(root, c string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, _, err := perm.OpenRegular(r, filepath.FromSlash(c))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// moduleErr describes why the module file c in root could not be read.
func moduleErr(name, root, c string, err error) error {
	var nr *perm.NotRegularError
	if errors.As(err, &nr) {
		return tools.Invalid("require %q: %s is %s, not a Lua source file", name, c, perm.Kind(nr.Mode))
	}
	// The open was refused: say whether a link leads out (a message only;
	// nothing is read by this name).
	key := filepath.Join(root, filepath.FromSlash(c))
	real, rerr := filepath.EvalSymlinks(key)
	if rerr == nil && real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return tools.Errorf(tools.TypePermission, "require %q: %s leads outside the script's folder", name, c)
	}
	if rerr == nil && real != key && !errors.Is(err, fs.ErrPermission) {
		return tools.Errorf(tools.TypePermission, "require %q: %s: %v (require follows only relative links that stay in the script's folder)", name, c, err)
	}
	return tools.Failed("require %q: %v", name, err)
}

func (e *Env) compileModule(key, display string, src []byte) (*lua.FunctionProto, error) {
	proto, err := compileChunk(display, src)
	if err != nil {
		return nil, tools.Invalid("require: %v", err)
	}
	actual, _ := e.modules.LoadOrStore(key, proto)
	return actual.(*lua.FunctionProto), nil
}

func (vm *VM) installValues() {
	L := vm.state
	args := L.CreateTable(len(vm.env.Args), 0)
	for i, a := range vm.env.Args {
		args.RawSetInt(i+1, lua.LString(a))
	}
	L.SetGlobal("ARGS", args)
	env := L.CreateTable(0, len(vm.env.ENV))
	for k, v := range vm.env.ENV {
		env.RawSetString(k, lua.LString(v))
	}
	L.SetGlobal("ENV", env)
	vm.exec = L.CreateTable(0, 4)
	vm.exec.RawSetString("vu", lua.LNumber(vm.ID))
	vm.exec.RawSetString("scenario", lua.LString(""))
	vm.exec.RawSetString("iteration", lua.LNumber(0))
	vm.exec.RawSetString("scenario_iteration", lua.LNumber(0))
	L.SetGlobal("Exec", vm.exec)
}

// SetScenario sets Exec.scenario.
func (vm *VM) SetScenario(name string) { vm.exec.RawSetString("scenario", lua.LString(name)) }

// SetIteration sets Exec.iteration and Exec.scenario_iteration.
func (vm *VM) SetIteration(own, inScenario int64) {
	vm.exec.RawSetString("iteration", lua.LNumber(own))
	vm.exec.RawSetString("scenario_iteration", lua.LNumber(inScenario))
}
