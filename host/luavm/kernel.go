package luavm

import (
	json "github.com/go-json-experiment/json"
	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/tools"
)

func init() {
	declareTable("Kernel", "The kernel's request/reply protocol and its health.")
	declare(kernelRequest, kernelHealth)
}

var kernelRequest = &Func{
	Table: "Kernel", Name: "request",
	Args: []Arg{{Name: "msg", Type: "table|string",
		Doc: "a request table {id, command, name, params, query, category, timeout}, or its JSON text (which may be malformed on purpose)"}},
	Returns: []Ret{{Name: "reply", Type: "Reply", Doc: "{id, status = \"ok\"|\"error\", result, error = {type, message}}"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc: "Sends one raw protocol request and returns the reply; it never raises for a bad request, " +
		"it returns the kernel's error reply, so scripts can test how the kernel answers bad input. " +
		"Commands: list, info, search, invoke, health, task_submit, task_status, task_wait, task_cancel, task_list, task_stats.",
	Example: "local r = Kernel.request('{\"id\":\"1\",\"command\":')\nassert(r.status == \"error\" and r.error.type == \"validation_error\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		k := vm.kern
		ctx := L.Context()
		switch msg := L.Get(1).(type) {
		case lua.LString:
			out := k.DoJSON(ctx, []byte(msg))
			var rep any
			if err := json.Unmarshal(out, &rep); err != nil {
				return vm.raise(L, tools.Errorf(tools.TypeInternal, "Kernel.request: reply is not JSON: %v", err), "")
			}
			L.Push(vm.fromGo(rep))
		case *lua.LTable:
			if req, ok := vm.fastRequest(msg); ok {
				L.Push(vm.replyToLua(k.Do(ctx, req)))
				return 1
			}
			v, err := vm.toGo(msg, k.Options().MaxRequestBytes)
			if err != nil {
				id, _ := msg.RawGetString("id").(lua.LString)
				L.Push(vm.replyToLua(kernel.ErrorReply(string(id), tools.Errorf(convType(err), "request: %v", err))))
				return 1
			}
			b, err := json.Marshal(v, json.Deterministic(true))
			if err != nil {
				return vm.raise(L, tools.Invalid("Kernel.request: cannot encode the request: %v", err), "")
			}
			var rep any
			if err := json.Unmarshal(k.DoJSON(ctx, b), &rep); err != nil {
				return vm.raise(L, tools.Errorf(tools.TypeInternal, "Kernel.request: reply is not JSON: %v", err), "")
			}
			L.Push(vm.fromGo(rep))
		default:
			return vm.argError(L, f, 1, "expected table or string, got %s", luaTypeName(msg))
		}
		return 1
	},
}

// fastRequest builds a Request straight from a well-formed table. Anything
// unusual (an unknown key, a field of the wrong type) returns false, and
// the request takes the JSON path so the kernel's decoder words the error.
func (vm *VM) fastRequest(t *lua.LTable) (*kernel.Request, bool) {
	req := &kernel.Request{}
	ok := true
	t.ForEach(func(k, v lua.LValue) {
		if !ok {
			return
		}
		key, isStr := k.(lua.LString)
		if !isStr {
			ok = false
			return
		}
		switch key {
		case "id", "command", "name", "query", "category":
			s, isStr := v.(lua.LString)
			if !isStr {
				ok = false
				return
			}
			switch key {
			case "id":
				req.ID = string(s)
			case "command":
				req.Command = string(s)
			case "name":
				req.Name = string(s)
			case "query":
				req.Query = string(s)
			case "category":
				req.Category = string(s)
			}
		case "params":
			pt, isTable := v.(*lua.LTable)
			if !isTable {
				ok = false
				return
			}
			p, err := vm.toGo(pt, vm.kern.Options().MaxRequestBytes)
			m, isMap := p.(map[string]any)
			if err != nil || !isMap {
				ok = false
				return
			}
			req.Params = m
		case "timeout":
			d, err := luaTimeout(v)
			if err != nil {
				ok = false
				return
			}
			req.Timeout = kernel.Duration(d)
		default:
			ok = false
		}
	})
	return req, ok
}

func (vm *VM) replyToLua(r *kernel.Reply) lua.LValue {
	L := vm.state
	t := L.CreateTable(0, 4)
	t.RawSetString("id", lua.LString(r.ID))
	t.RawSetString("status", lua.LString(r.Status))
	if r.Result != nil {
		t.RawSetString("result", vm.resultToLua(r.Result))
	}
	if r.Error != nil {
		e := L.CreateTable(0, 2)
		e.RawSetString("type", lua.LString(r.Error.Type))
		e.RawSetString("message", lua.LString(r.Error.Message))
		t.RawSetString("error", e)
	}
	return t
}

// summaryCache holds the Lua strings of the last tool list a VM
// converted. The kernel shares one list reply per registry generation, so
// the next list reply is usually the same slice: its tables are built
// fresh (scripts may change them) from strings already made.
type summaryCache struct {
	first   *any // the reply's tools slice, by its first element
	n       int
	entries [][3]lua.LValue // name, category, description
}

// resultToLua converts a reply's result; the full tool list takes the
// cached path.
func (vm *VM) resultToLua(res any) lua.LValue {
	m, ok := res.(map[string]any)
	if !ok || len(m) != 2 {
		return vm.fromGo(res)
	}
	list, ok := m["tools"].([]any)
	if !ok || len(list) == 0 || m["count"] == nil {
		return vm.fromGo(res)
	}
	c := &vm.summaries
	if c.first != &list[0] || c.n != len(list) {
		entries := make([][3]lua.LValue, len(list))
		for i, e := range list {
			s, ok := e.(map[string]any)
			if !ok || len(s) != 3 {
				return vm.fromGo(res)
			}
			for j, k := range [3]string{"name", "category", "description"} {
				str, ok := s[k].(string)
				if !ok {
					return vm.fromGo(res)
				}
				entries[i][j] = lua.LString(str)
			}
		}
		*c = summaryCache{first: &list[0], n: len(list), entries: entries}
	}
	L := vm.state
	arr := L.CreateTable(len(c.entries), 0)
	for i, e := range c.entries {
		t := L.CreateTable(0, 3)
		t.RawSetString("name", e[0])
		t.RawSetString("category", e[1])
		t.RawSetString("description", e[2])
		arr.RawSetInt(i+1, t)
	}
	out := L.CreateTable(0, 2)
	out.RawSetString("tools", arr)
	out.RawSetString("count", vm.fromGo(m["count"]))
	return out
}

var kernelHealth = &Func{
	Table: "Kernel", Name: "health",
	Returns: []Ret{{Name: "health", Type: "Health",
		Doc: "{status, tools, running, abandoned, calls, panics, goroutines, goroutines_baseline, goroutine_growth, heap_bytes, " +
			"uptime_s, fault_rules} and, once tasks ran, {tasks_queued, tasks_running, tasks_retrying}"}},
	Doc: "Reports the kernel's state, for recovery checks. status is \"ok\" (\"closed\" after the kernel closed); tools: " +
		"the tools registered; running: tool calls in progress; abandoned: calls that timed out whose tool has not " +
		"returned yet; calls: calls finished; panics: tools that panicked (the kernel kept serving); goroutines: the " +
		"process's now, goroutines_baseline when the kernel started, goroutine_growth the difference; heap_bytes: the " +
		"live heap; uptime_s: seconds since the kernel started; fault_rules: fault rules enabled; tasks_queued, " +
		"tasks_running, tasks_retrying: the task manager's, once it started.",
	Example: "local h = Kernel.health()\nassert(h.status == \"ok\" and h.abandoned == 0)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		L.Push(vm.fromGo(vm.kern.Health()))
		return 1
	},
}
