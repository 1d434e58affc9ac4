package luavm

import (
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/tools"
)

func init() {
	declareTable("Tool", "The kernel's tool registry: list, describe, search and invoke tools.")
	declare(toolList, toolGet, toolExists, toolCategories, toolSearch, toolInvoke, toolTry)
}

var toolList = &Func{
	Table: "Tool", Name: "list",
	Args:    []Arg{{Name: "category", Type: "string", Optional: true, Doc: "only tools of this category"}},
	Returns: []Ret{{Name: "tools", Type: "ToolSummary[]", Doc: "{name, category, description} per tool, sorted by name"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Lists the registered tools, optionally of one category (case-insensitive). An unknown category gives an empty list.",
	Example: "for _, t in ipairs(Tool.list(\"utility\")) do\n  print(t.name, t.description)\nend",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		category := ""
		if L.Get(1) != lua.LNil {
			category = vm.checkString(L, f, 1)
		}
		specs := vm.kern.Registry().List(category)
		t := L.CreateTable(len(specs), 0)
		for i, s := range specs {
			t.RawSetInt(i+1, vm.summary(L, s))
		}
		if len(specs) == 0 {
			t.Metatable = vm.arrayMeta
		}
		L.Push(t)
		return 1
	},
}

func (vm *VM) summary(L *lua.LState, s *tools.Spec) *lua.LTable {
	e := L.CreateTable(0, 3)
	e.RawSetString("name", lua.LString(s.Name))
	e.RawSetString("category", lua.LString(s.Category))
	e.RawSetString("description", lua.LString(s.Description))
	return e
}

var toolGet = &Func{
	Table: "Tool", Name: "get",
	Args:    []Arg{{Name: "name", Type: "string", Doc: "the tool's name"}},
	Returns: []Ret{{Name: "spec", Type: "ToolSpec", Doc: "{name, category, description, parameters = {{name, type, required, default, enum, description}...}, returns, example}"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound},
	Doc:     "Returns a tool's spec: the same declaration that validates its calls. Raises not_found for an unknown tool (Tool.exists checks without raising).",
	Example: "local spec = Tool.get(\"calculator\")\nfor _, p in ipairs(spec.parameters) do print(p.name, p.type, p.required) end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		name := vm.checkString(L, f, 1)
		t, err := vm.kern.Registry().Get(name)
		if err != nil {
			return vm.raise(L, err, name)
		}
		L.Push(vm.fromGo(kernel.SpecMap(t.Spec())))
		return 1
	},
}

var toolExists = &Func{
	Table: "Tool", Name: "exists",
	Args:    []Arg{{Name: "name", Type: "string", Doc: "a tool name"}},
	Returns: []Ret{{Name: "exists", Type: "boolean"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Reports whether a tool is registered.",
	Example: "if Tool.exists(\"web_search\") then print(\"search is available\") end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		_, ok := vm.kern.Registry().Lookup(vm.checkString(L, f, 1))
		L.Push(lua.LBool(ok))
		return 1
	},
}

var toolCategories = &Func{
	Table: "Tool", Name: "categories",
	Returns: []Ret{{Name: "categories", Type: "string[]", Doc: "sorted"}},
	Doc:     "Lists the categories of the registered tools.",
	Example: "print(table.concat(Tool.categories(), \", \"))",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 0)
		cats := vm.kern.Registry().Categories()
		t := L.CreateTable(len(cats), 0)
		for i, c := range cats {
			t.RawSetInt(i+1, lua.LString(c))
		}
		L.Push(t)
		return 1
	},
}

var toolSearch = &Func{
	Table: "Tool", Name: "search",
	Args:    []Arg{{Name: "query", Type: "string", Doc: "words that must all occur in a tool's name, category or description"}},
	Returns: []Ret{{Name: "tools", Type: "ToolSummary[]", Doc: "matches, name matches first"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Finds tools by name, category or description, case-insensitively. Every word of the query must match; an empty query matches nothing.",
	Example: "local hits = Tool.search(\"hash\")\nassert(hits[1].name == \"hash_calculator\")",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		specs := vm.kern.Registry().Search(vm.checkString(L, f, 1))
		t := L.CreateTable(len(specs), 0)
		for i, s := range specs {
			t.RawSetInt(i+1, vm.summary(L, s))
		}
		if len(specs) == 0 {
			t.Metatable = vm.arrayMeta
		}
		L.Push(t)
		return 1
	},
}

var invokeArgs = []Arg{
	{Name: "name", Type: "string", Doc: "the tool"},
	{Name: "params", Type: "table<string, any>", Optional: true, Doc: "the tool's parameters (see Tool.get)"},
	{Name: "opts", Type: "InvokeOptions", Optional: true, Doc: "{timeout = seconds or \"250ms\"}; the default timeout is the kernel's (30s)"},
}

var toolInvoke = &Func{
	Table: "Tool", Name: "invoke",
	Args:    invokeArgs,
	Returns: []Ret{{Name: "result", Type: "table", Doc: "the tool's result"}},
	Raises: []tools.ErrorType{tools.TypeValidation, tools.TypeNotFound, tools.TypeExecution, tools.TypeTimeout,
		tools.TypeCancelled, tools.TypeTooLarge, tools.TypeInternal, tools.TypeInjected, tools.TypePermission},
	Doc: "Runs a tool and returns its result, raising an error value on failure: a table {type, message, tool, where} " +
		"whose tostring is \"type: message\", so pcall handlers can branch on err.type. Use Tool.try to get the error as a second result instead.",
	Example: "local r = Tool.invoke(\"calculator\", {input = \"6 * 7\"})\nassert(r.result == 42)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		res, name, err := vm.invoke(L, f)
		if err != nil {
			return vm.raise(L, err, name)
		}
		if tooDeep(res) {
			return vm.raise(L, deepResult(name), name)
		}
		L.Push(vm.fromGo(res))
		return 1
	},
}

var toolTry = &Func{
	Table: "Tool", Name: "try",
	Args: invokeArgs,
	Returns: []Ret{
		{Name: "result", Type: "table?", Doc: "the tool's result, or nil on failure"},
		{Name: "err", Type: "ToolError?", Doc: "nil on success; else {type, message, tool, where}"},
	},
	Raises: []tools.ErrorType{tools.TypeValidation},
	Doc: "Runs a tool like Tool.invoke but returns (result, nil) or (nil, err) instead of raising. " +
		"Only bad arguments to Tool.try itself (a name that is not a string) raise.",
	Example: "local r, err = Tool.try(\"calculator\", {input = \"1/0\"})\nif err and err.type == \"execution_error\" then print(\"caught:\", err.message) end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		res, name, err := vm.invoke(L, f)
		if err == nil && tooDeep(res) {
			err = deepResult(name)
		}
		if err != nil {
			L.Push(lua.LNil)
			L.Push(vm.errorValue(L, err, name))
			return 2
		}
		L.Push(vm.fromGo(res))
		L.Push(lua.LNil)
		return 2
	},
}

// deepResult is the error for a tool result Lua cannot take.
func deepResult(tool string) error {
	return tools.Invalid("tool %s: the result nests arrays and objects more than %d levels deep, the limit", tool, maxDepth)
}

// invoke runs the tool call of Tool.invoke and Tool.try. Bad arguments to
// the binding itself raise; everything about the call is returned.
func (vm *VM) invoke(L *lua.LState, f *Func) (any, string, error) {
	vm.noMoreArgs(L, f, 3)
	name := vm.checkString(L, f, 1)
	pt := vm.optTable(L, f, 2)
	timeout := vm.invokeOptions(L, f, 3)
	var params map[string]any
	if pt != nil {
		v, err := vm.toGo(pt, vm.kern.Options().MaxRequestBytes)
		if err != nil {
			return nil, name, tools.Errorf(convType(err), "tool %s: params: %v", name, err)
		}
		switch m := v.(type) {
		case map[string]any:
			params = m
		case []any:
			return nil, name, tools.Invalid("tool %s: params must be a table with named fields, got a list", name)
		}
	}
	ctx := L.Context()
	if vm.Recorder == nil {
		res, err := vm.kern.Invoke(ctx, name, params, timeout)
		return res, name, err
	}
	start := time.Now()
	res, err := vm.kern.Invoke(ctx, name, params, timeout)
	vm.Recorder.ToolCall(name, tools.TypeOf(err), time.Since(start))
	return res, name, err
}

// invokeOptions reads {timeout = ...}.
func (vm *VM) invokeOptions(L *lua.LState, f *Func, i int) time.Duration {
	opts := vm.optTable(L, f, i)
	if opts == nil {
		return 0
	}
	var timeout time.Duration
	opts.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "timeout":
			d, err := luaTimeout(v)
			if err != nil {
				vm.argError(L, f, i, "timeout: want a positive number of seconds or a duration such as \"250ms\": %v", err)
			}
			if d <= 0 {
				vm.argError(L, f, i, "timeout: want a positive number of seconds or a duration such as \"250ms\", got %s", describeArg(v))
			}
			timeout = d
		default:
			vm.argError(L, f, i, "unknown option %q (known: timeout)", k.String())
		}
	})
	return timeout
}

// luaTimeout reads a timeout as luaDuration does; a positive one under
// kernel.MinTimeout is an error (it would round to zero, the default).
func luaTimeout(v lua.LValue) (time.Duration, error) {
	switch x := v.(type) {
	case lua.LNumber:
		return kernel.ParseTimeout(float64(x))
	case lua.LString:
		return kernel.ParseTimeout(string(x))
	}
	return kernel.ParseTimeout(v.Type().String())
}

// describeArg renders an argument for an error message without calling
// into it (no __tostring).
func describeArg(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return strconv.Quote(clip(string(x), 64))
	case lua.LNumber, lua.LBool:
		return x.String()
	}
	return "a " + luaTypeName(v)
}

// luaDuration reads seconds (a number) or a duration string.
func luaDuration(v lua.LValue) (time.Duration, error) {
	switch x := v.(type) {
	case lua.LNumber:
		return kernel.ParseDuration(float64(x))
	case lua.LString:
		return kernel.ParseDuration(string(x))
	}
	return kernel.ParseDuration(v.Type().String())
}
