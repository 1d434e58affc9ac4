package luavm

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/metrics"
	"spellhost/tools"
)

// ErrAborted is the cause of a run the script stopped with abort().
var ErrAborted = errors.New("aborted by the script")

// AbortError carries the script's reason for abort().
type AbortError struct{ Reason string }

func (e *AbortError) Error() string {
	if e.Reason == "" {
		return "the script called abort()"
	}
	return "the script called abort(): " + e.Reason
}

// Is makes an AbortError match ErrAborted.
func (e *AbortError) Is(target error) bool { return target == ErrAborted }

func init() {
	declareTable("Metrics", "Custom metrics: counters, gauges, rates and trends, with tags, usable in thresholds.")
	declare(metricCtor("counter", metrics.Counter), metricCtor("gauge", metrics.Gauge),
		metricCtor("rate", metrics.Rate), metricCtor("trend", metrics.Trend), checkFunc, abortFunc)
}

func metricCtor(name string, kind metrics.Kind) *Func {
	doc := map[metrics.Kind]string{
		metrics.Counter: "a sum (thresholds: count, rate per second)",
		metrics.Gauge:   "the last value, with min and max (thresholds: value, min, max)",
		metrics.Rate:    "the share of non-zero values (thresholds: rate)",
		metrics.Trend:   "a distribution in an HDR histogram (thresholds: avg, min, med, max, p(N))",
	}[kind]
	f := &Func{
		Table: "Metrics", Name: name,
		Args: []Arg{
			{Name: "name", Type: "string", Doc: "letters, digits, '_' and '.'"},
			{Name: "unit", Type: "\"time\"|\"data\"", Optional: true, Doc: "time values are milliseconds; data values are bytes (so thresholds accept ms/s or MB)"},
		},
		Returns: []Ret{{Name: "metric", Type: "Metric", Doc: "an object with :add(value [, tags])"}},
		Raises:  []tools.ErrorType{tools.TypeValidation},
		Doc:     fmt.Sprintf("Declares (or returns) a custom %s metric: %s. Declare metrics at the top level so thresholds can name them.", name, doc),
		Example: fmt.Sprintf("local m = Metrics.%s(\"my_%s\")\nm:add(1, {endpoint = \"calc\"})", name, name),
	}
	f.fn = func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		mname := vm.checkString(L, f, 1)
		unit := metrics.None
		if L.Get(2) != lua.LNil {
			switch u := vm.checkString(L, f, 2); u {
			case "time":
				unit = metrics.Time
			case "data":
				unit = metrics.Data
			default:
				vm.argError(L, f, 2, "unit %q: want \"time\" or \"data\"", u)
			}
		}
		st := vm.metricsStore()
		def, err := st.Define(mname, kind, unit)
		if err != nil {
			return vm.raise(L, tools.Invalid("Metrics.%s: %v", name, err), "")
		}
		ud := L.NewUserData()
		ud.Value = def
		ud.Metatable = vm.metricMeta()
		L.Push(ud)
		return 1
	}
	return f
}

// metricsStore returns the run's store, or a private one for a VM that
// runs outside a scenario run (tests, tools).
func (vm *VM) metricsStore() *metrics.Store {
	if vm.Recorder == nil {
		st := metrics.NewStore()
		vm.Recorder = NewRecorder(st, st.NewBuffer(256, time.Second))
	}
	return vm.Recorder.Store
}

// metricMeta is the metatable of metric objects. A metric is a userdata
// holding its declaration, so a script cannot point it at another metric
// (a built-in one, say); it reads name, kind and add through __index.
func (vm *VM) metricMeta() *lua.LTable {
	if vm.metricMt != nil {
		return vm.metricMt
	}
	L := vm.state
	add := vm.newFunction(vm.metricAdd)
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", vm.newFunction(func(L *lua.LState) int {
		def, ok := vm.metricDef(L.Get(1))
		if !ok {
			return 0
		}
		switch L.Get(2) {
		case lua.LString("add"):
			L.Push(add)
		case lua.LString("name"):
			L.Push(lua.LString(def.Name))
		case lua.LString("kind"):
			L.Push(lua.LString(def.Kind.String()))
		default:
			L.Push(lua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__newindex", vm.newFunction(func(L *lua.LState) int {
		return vm.raise(L, tools.Invalid("metric: fields of a metric cannot be set"), "")
	}))
	mt.RawSetString("__tostring", vm.newFunction(func(L *lua.LState) int {
		def, _ := vm.metricDef(L.Get(1))
		L.Push(lua.LString(fmt.Sprintf("%s %s", def.Kind, def.Name)))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("metric"))
	vm.metricMt = mt
	return mt
}

// metricDef returns the declaration a metric object holds.
func (vm *VM) metricDef(v lua.LValue) (*metrics.Def, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok || ud.Metatable != vm.metricMt {
		return nil, false
	}
	def, ok := ud.Value.(*metrics.Def)
	return def, ok && def != nil
}

var metricAddFunc = &Func{Table: "Metric", Name: "add",
	Args: []Arg{{Name: "value", Type: "number|boolean"}, {Name: "tags", Type: "table<string, string>", Optional: true}}}

// maxMetricTags bounds the tags of one add.
const maxMetricTags = 16

// metricAdd is metric:add(value [, tags]).
func (vm *VM) metricAdd(L *lua.LState) int {
	f := metricAddFunc
	def, ok := vm.metricDef(L.Get(1))
	if !ok {
		return vm.raise(L, tools.Invalid("metric:add: call it with a colon, as m:add(value)"), "")
	}
	if L.GetTop() > 3 {
		vm.argError(L, f, 3, "unexpected extra argument")
	}
	var v float64
	switch x := L.Get(2).(type) {
	case lua.LNumber:
		v = float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return vm.raise(L, tools.Invalid("metric:add: %s: the value must be a finite number, not %v", def.Name, x), "")
		}
	case lua.LBool:
		if x {
			v = 1
		}
	default:
		return vm.raise(L, tools.Invalid("metric:add: bad argument #1 'value': expected number or boolean, got %s", luaTypeName(x)), "")
	}
	vm.metricsStore()
	tags, err := vm.tagTable(L.Get(3))
	if err != nil {
		return vm.raise(L, tools.Invalid("metric:add: %v", err), "")
	}
	vm.Recorder.Add(def, v, tags)
	return 0
}

// tagTable reads the tags a script gives a value: nil, or a table of at
// most maxMetricTags string keys to strings, numbers or booleans, each a
// valid tag (metrics.CheckTagKey, CheckTagValue).
func (vm *VM) tagTable(v lua.LValue) (map[string]string, error) {
	if v == lua.LNil {
		return nil, nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("bad argument 'tags': expected table, got %s", luaTypeName(v))
	}
	tags := map[string]string{}
	var bad error
	n := 0
	t.ForEach(func(k, val lua.LValue) {
		if n++; bad != nil || n > maxMetricTags {
			return
		}
		ks, isStr := k.(lua.LString)
		if !isStr {
			bad = fmt.Errorf("tag key %s: want a string", luaTypeName(k))
			return
		}
		var vs string
		switch x := val.(type) {
		case lua.LString:
			vs = string(x)
		case lua.LNumber, lua.LBool:
			vs = x.String()
		default:
			bad = fmt.Errorf("tag %s: value %s: want a string, number or boolean", clip(string(ks), 40), luaTypeName(val))
			return
		}
		if err := metrics.CheckTagKey(string(ks)); err != nil {
			bad = err
		} else if err := metrics.CheckTagValue(vs); err != nil {
			bad = err
		}
		tags[string(ks)] = vs
	})
	if bad != nil {
		return nil, bad
	}
	if n > maxMetricTags {
		return nil, fmt.Errorf("%d tags; at most %d", n, maxMetricTags)
	}
	return tags, nil
}

var checkFunc = &Func{
	Name: "check",
	Args: []Arg{
		{Name: "value", Type: "any", Doc: "what the checks look at"},
		{Name: "checks", Type: "table<string, fun(v: any): boolean>", Doc: "named predicates"},
		{Name: "tags", Type: "table<string, string>", Optional: true,
			Doc: "tags for these check results, over the scenario's (at most 16, as metric:add takes)"},
	},
	Returns: []Ret{{Name: "ok", Type: "boolean", Doc: "true when every check passed"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc: "Runs each named predicate on value and records the result in the checks rate metric, tagged check=NAME with " +
		"the scenario's tags and the tags given, as k6's check does. A predicate that raises counts as failed. Checks run in name order.",
	Example: "local r = Tool.invoke(\"calculator\", {input = \"2+2\"})\n" +
		"check(r, {[\"sum is 4\"] = function(v) return v.result == 4 end}, {kind = \"arithmetic\"})",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 3)
		value := L.Get(1)
		checks := vm.checkTable(L, f, 2)
		tags, err := vm.tagTable(L.Get(3))
		if err != nil {
			return vm.argError(L, f, 3, "%v", err)
		}
		type named struct {
			name string
			fn   lua.LValue
		}
		var list []named
		var bad lua.LValue
		checks.ForEach(func(k, v lua.LValue) {
			if _, ok := v.(*lua.LFunction); !ok && bad == nil {
				bad = k
			}
			list = append(list, named{k.String(), v})
		})
		if bad != nil {
			return vm.argError(L, f, 2, "check %q is not a function", bad.String())
		}
		slices.SortFunc(list, func(a, b named) int { return strings.Compare(a.name, b.name) })
		vm.metricsStore()
		all := true
		for _, c := range list {
			name, fn := c.name, c.fn
			L.Push(fn)
			L.Push(value)
			pass := false
			if err := vm.protectedCall(L, 1, 1, vm.quiet); err == nil {
				pass = lua.LVAsBool(L.Get(-1))
				L.Pop(1)
			} else if L.Context() != nil && L.Context().Err() != nil {
				L.RaiseError("%s", ctxErrText(L.Context()))
			}
			vm.Recorder.Check(name, pass, tags)
			all = all && pass
		}
		L.Push(lua.LBool(all))
		return 1
	},
}

var abortFunc = &Func{
	Name:    "abort",
	Args:    []Arg{{Name: "reason", Type: "string", Optional: true}},
	Doc:     "Stops the whole run at once: teardown still runs, the summary is printed and spellhost exits 108.",
	Example: "if not Tool.exists(\"calculator\") then abort(\"calculator missing\") end",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		reason := ""
		if L.Get(1) != lua.LNil {
			reason = vm.checkString(L, f, 1)
		}
		err := &AbortError{Reason: reason}
		if vm.OnAbort != nil {
			vm.OnAbort(err)
		}
		L.Error(vm.errorValue(L, err, ""), 0)
		return 0
	},
}
