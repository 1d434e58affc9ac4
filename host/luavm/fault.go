package luavm

import (
	"fmt"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/fault"
	"spellhost/tools"
)

func init() {
	declareTable("Fault", "Fault injection at the kernel's boundaries: tool calls (tool:NAME, globs such as tool:file_*), "+
		"task attempts (task:NAME) and the protocol decoder (protocol:decode). Rules are shared by every VU of the run.")
	declare(faultEnable, faultDisable, faultReset, faultList, faultWith)
}

const faultTermsDoc = "failpoint terms such as \"50%delay(10ms)\", \"2*error(timeout)->off\" or \"down;for=5s\", " +
	"or a table: one term {kind, p, count, type|message|latency|jitter|duration|bytes|rate|percent|size|goroutine} " +
	"or a chain {term, term, ..., after = K, expire = \"10s\"}"

var faultEnable = &Func{
	Table: "Fault", Name: "enable",
	Args: []Arg{
		{Name: "target", Type: "string", Doc: "tool:NAME, task:NAME or protocol:decode; NAME may be a glob"},
		{Name: "terms", Type: "string|table", Doc: faultTermsDoc},
	},
	Returns: []Ret{{Name: "rule", Type: "string", Doc: "the rule as the summary lists it"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc: "Enables a fault rule for target, replacing any rule the target had. Injected failures carry the error type " +
		"\"injected\" (err.injected says what they stand for) and are counted apart from real ones. Kinds: off, error, delay, " +
		"hang, panic, corrupt, truncate, throttle, down, slow_cancel, slow, leak.",
	Example: "Fault.enable(\"tool:calculator\", \"50%error(timeout)\")\n" +
		"Fault.enable(\"tool:*\", {kind = \"delay\", latency = \"5ms\", p = 0.1})",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		fs := vm.faults(L, f)
		target := vm.checkString(L, f, 1)
		sp, err := vm.faultSpec(L, f, target, L.Get(2))
		if err != nil {
			return vm.raise(L, tools.Invalid("Fault.enable: %v", err), "")
		}
		if err := fs.Enable(sp); err != nil {
			return vm.raise(L, tools.Invalid("Fault.enable: %v", err), "")
		}
		L.Push(lua.LString(sp.Target + "=" + sp.Text))
		return 1
	},
}

var faultDisable = &Func{
	Table: "Fault", Name: "disable",
	Args:    []Arg{{Name: "target", Type: "string", Doc: "the target as given to Fault.enable"}},
	Returns: []Ret{{Name: "found", Type: "boolean", Doc: "whether the target had a rule"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Removes the rule of target and releases what its leak terms hold.",
	Example: "Fault.disable(\"tool:calculator\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		fs := vm.faults(L, f)
		L.Push(lua.LBool(fs.Disable(vm.checkString(L, f, 1))))
		return 1
	},
}

var faultReset = &Func{
	Table: "Fault", Name: "reset",
	Doc:     "Removes every rule and releases every leak.",
	Example: "Fault.reset()\nassert(#Fault.list() == 0)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		vm.faults(L, f).Reset()
		return 0
	},
}

var faultList = &Func{
	Table: "Fault", Name: "list",
	Returns: []Ret{{Name: "rules", Type: "FaultRule[]",
		Doc: "{target, rule, calls, hits, term_hits, active, leaked_bytes, parked_goroutines} per rule, in the order enabled"}},
	Doc:     "Lists the enabled rules with how many calls each saw and how many times it fired.",
	Example: "for _, r in ipairs(Fault.list()) do print(r.target, r.rule, r.hits .. \"/\" .. r.calls) end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		list := vm.faults(L, f).List()
		t := L.CreateTable(len(list), 0)
		for i, in := range list {
			e := L.CreateTable(0, 8)
			e.RawSetString("target", lua.LString(in.Target))
			e.RawSetString("rule", lua.LString(in.Rule))
			e.RawSetString("calls", lua.LNumber(in.Calls))
			e.RawSetString("hits", lua.LNumber(in.Hits))
			th := L.CreateTable(len(in.TermHits), 0)
			for j, h := range in.TermHits {
				th.RawSetInt(j+1, lua.LNumber(h))
			}
			e.RawSetString("term_hits", th)
			e.RawSetString("active", lua.LBool(in.Active))
			e.RawSetString("leaked_bytes", lua.LNumber(in.LeakedBytes))
			e.RawSetString("parked_goroutines", lua.LNumber(in.ParkedGoroutines))
			t.RawSetInt(i+1, e)
		}
		if len(list) == 0 {
			t.Metatable = vm.arrayMeta
		}
		L.Push(t)
		return 1
	},
}

var faultWith = &Func{
	Table: "Fault", Name: "with",
	Args: []Arg{
		{Name: "target", Type: "string", Doc: "as for Fault.enable"},
		{Name: "terms", Type: "string|table", Doc: "as for Fault.enable"},
		{Name: "fn", Type: "fun(): any", Doc: "runs with the rule enabled"},
	},
	Returns: []Ret{{Name: "...", Type: "any", Doc: "fn's results"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc: "Runs fn with a rule enabled for target, then removes it and puts back the rule the target had before (its counts " +
		"as they were), even when fn raises; fn's error is raised again after.",
	Example: "local r, err = Fault.with(\"tool:calculator\", \"error(unavailable)\", function()\n" +
		"  return Tool.try(\"calculator\", {input = \"1+1\"})\nend)\nassert(err.type == \"injected\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 3)
		fs := vm.faults(L, f)
		target := vm.checkString(L, f, 1)
		fn, ok := L.Get(3).(*lua.LFunction)
		if !ok {
			return vm.argError(L, f, 3, "expected function, got %s", luaTypeName(L.Get(3)))
		}
		sp, err := vm.faultSpec(L, f, target, L.Get(2))
		if err != nil {
			return vm.raise(L, tools.Invalid("Fault.with: %v", err), "")
		}
		restore, err := fs.Push(sp)
		if err != nil {
			return vm.raise(L, tools.Invalid("Fault.with: %v", err), "")
		}
		base := L.GetTop()
		L.Push(fn)
		callErr := vm.protectedCall(L, 0, lua.MultRet, vm.quiet)
		restore()
		if callErr != nil {
			if api, ok := callErr.(*lua.ApiError); ok {
				L.Error(api.Object, 0)
			}
			L.RaiseError("%v", callErr)
		}
		return L.GetTop() - base
	},
}

func (vm *VM) faults(L *lua.LState, f *Func) *fault.Set {
	fs := vm.env.Kernel.Options().Faults
	if fs == nil {
		vm.raise(L, tools.Errorf(tools.TypeInternal, "%s: this kernel has no fault set", f.FullName()), "")
	}
	return fs
}

// faultSpec reads a rule from failpoint text or a Lua table.
func (vm *VM) faultSpec(L *lua.LState, f *Func, target string, v lua.LValue) (*fault.Spec, error) {
	switch x := v.(type) {
	case lua.LString:
		return fault.Parse(target, string(x))
	case *lua.LTable:
		text, err := faultTableText(x)
		if err != nil {
			return nil, err
		}
		return fault.Parse(target, text)
	default:
		vm.argError(L, f, 2, "expected failpoint terms (string or table), got %s", luaTypeName(v))
		return nil, nil
	}
}

// faultTableText turns the table form of a rule into failpoint text, so
// both forms meet the same validation.
func faultTableText(t *lua.LTable) (string, error) {
	var terms []string
	if t.RawGetString("kind") != lua.LNil {
		s, err := faultTermText(t)
		if err != nil {
			return "", err
		}
		terms = append(terms, s)
	} else {
		n := t.Len()
		if n == 0 {
			return "", fmt.Errorf("the table has neither kind nor a list of terms")
		}
		for i := 1; i <= n; i++ {
			tt, ok := t.RawGetInt(i).(*lua.LTable)
			if !ok {
				return "", fmt.Errorf("term %d: expected a table, got %s", i, luaTypeName(t.RawGetInt(i)))
			}
			s, err := faultTermText(tt)
			if err != nil {
				return "", fmt.Errorf("term %d: %w", i, err)
			}
			terms = append(terms, s)
		}
	}
	text := strings.Join(terms, "->")
	if v := t.RawGetString("after"); v != lua.LNil {
		n, ok := v.(lua.LNumber)
		if !ok {
			return "", fmt.Errorf("after: expected a number, got %s", luaTypeName(v))
		}
		text += ";after=" + strconv.FormatFloat(float64(n), 'f', -1, 64)
	}
	for _, key := range []string{"expire", "for"} {
		if v := t.RawGetString(key); v != lua.LNil {
			d, err := luaDuration(v)
			if err != nil {
				return "", fmt.Errorf("%s: %v", key, err)
			}
			text += ";for=" + d.String()
		}
	}
	return text, nil
}

var termKeys = map[string][]string{
	"off": {}, "corrupt": {}, "down": {},
	"error": {"type", "message"}, "panic": {"message"},
	"delay": {"latency", "jitter"}, "hang": {"duration"}, "slow_cancel": {"duration"},
	"truncate": {"bytes"}, "throttle": {"rate"}, "slow": {"percent"}, "leak": {"size", "goroutine"},
}

func faultTermText(t *lua.LTable) (string, error) {
	kind, ok := t.RawGetString("kind").(lua.LString)
	if !ok {
		return "", fmt.Errorf("kind: expected a string such as \"error\" or \"delay\", got %s", luaTypeName(t.RawGetString("kind")))
	}
	keys, known := termKeys[string(kind)]
	if !known {
		// Let the parser word the error with the list of kinds.
		return string(kind), nil
	}
	var bad error
	t.ForEach(func(k, _ lua.LValue) {
		name := lua.LVAsString(k)
		switch name {
		case "kind", "p", "count", "after", "expire", "for":
			return
		}
		for _, ok := range keys {
			if ok == name {
				return
			}
		}
		if bad == nil {
			bad = fmt.Errorf("%s does not take %q (it takes %s)", kind, name, strings.Join(append([]string{"p", "count"}, keys...), ", "))
		}
	})
	if bad != nil {
		return "", bad
	}
	var b strings.Builder
	if v := t.RawGetString("p"); v != lua.LNil {
		p, ok := v.(lua.LNumber)
		if !ok {
			return "", fmt.Errorf("p: expected a probability from 0 to 1, got %s", luaTypeName(v))
		}
		b.WriteString(strconv.FormatFloat(float64(p)*100, 'f', -1, 64) + "%")
	}
	if v := t.RawGetString("count"); v != lua.LNil {
		n, ok := v.(lua.LNumber)
		if !ok {
			return "", fmt.Errorf("count: expected a number, got %s", luaTypeName(v))
		}
		b.WriteString(strconv.FormatFloat(float64(n), 'f', -1, 64) + "*")
	}
	b.WriteString(string(kind))
	var args []string
	for _, key := range keys {
		v := t.RawGetString(key)
		if v == lua.LNil {
			continue
		}
		switch key {
		case "latency", "jitter", "duration":
			d, err := luaDuration(v)
			if err != nil {
				return "", fmt.Errorf("%s: %v", key, err)
			}
			args = append(args, d.String())
		case "percent":
			n, ok := v.(lua.LNumber)
			if !ok {
				return "", fmt.Errorf("percent: expected a number such as 30, got %s", luaTypeName(v))
			}
			args = append(args, strconv.FormatFloat(float64(n), 'f', -1, 64)+"%")
		case "goroutine":
			if v == lua.LTrue {
				args = append(args, "goroutine")
			}
		default:
			s := lua.LVAsString(v)
			if strings.ContainsAny(s, "(),;") || strings.Contains(s, "->") {
				return "", fmt.Errorf("%s: %q may not contain ( ) , ; or ->", key, s)
			}
			args = append(args, s)
		}
	}
	if len(args) > 0 {
		b.WriteString("(" + strings.Join(args, ",") + ")")
	}
	return b.String(), nil
}
