package luavm

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	lua "github.com/yuin/gopher-lua"

	"spellhost/tools"
)

// maxDepth bounds the nesting of converted values in both directions.
const maxDepth = 100

// fromGo converts a JSON-like Go value to Lua. Maps become tables with
// string keys; slices become sequences; nil in a map drops the key and nil
// in a slice becomes JSON.null (so # stays right). An empty slice is marked
// as an array, so JSON.encode writes [] again.
func (vm *VM) fromGo(v any) lua.LValue { return vm.toLua(v, 0) }

func (vm *VM) toLua(v any, depth int) lua.LValue {
	if depth > maxDepth {
		return lua.LString("(nested too deep)")
	}
	L := vm.state
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case uint64:
		return lua.LNumber(x)
	case float32:
		return lua.LNumber(x)
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			if e != nil {
				t.RawSetString(k, vm.toLua(e, depth+1))
			}
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			if e == nil {
				t.RawSetInt(i+1, vm.null)
			} else {
				t.RawSetInt(i+1, vm.toLua(e, depth+1))
			}
		}
		if len(x) == 0 {
			t.Metatable = vm.arrayMeta
		}
		return t
	case []string:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, lua.LString(e))
		}
		if len(x) == 0 {
			t.Metatable = vm.arrayMeta
		}
		return t
	case map[string]string:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, lua.LString(e))
		}
		return t
	case []map[string]any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, vm.toLua(e, depth+1))
		}
		if len(x) == 0 {
			t.Metatable = vm.arrayMeta
		}
		return t
	case lua.LValue:
		return x
	}
	// Anything else goes through JSON, which knows structs and their tags.
	b, err := json.Marshal(v)
	if err != nil {
		return lua.LString(fmt.Sprintf("(unconvertible %T)", v))
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return lua.LString(fmt.Sprintf("(unconvertible %T)", v))
	}
	return vm.toLua(generic, depth)
}

// tooDeep reports whether a JSON-like Go value has a value nested more
// than maxDepth levels down, past what fromGo converts.
func tooDeep(v any) bool {
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		switch x := v.(type) {
		case map[string]any:
			if depth >= maxDepth && len(x) > 0 {
				return true
			}
			for _, e := range x {
				if walk(e, depth+1) {
					return true
				}
			}
		case []any:
			if depth >= maxDepth && len(x) > 0 {
				return true
			}
			for _, e := range x {
				if walk(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, 0)
}

// converter turns Lua values into Go values, counting string bytes so a
// payload over the limit is refused before it is built further. The path
// to the value being converted is kept as a stack of segments and rendered
// only for an error message.
type converter struct {
	vm     *VM
	budget int // bytes of strings still allowed; negative means no limit
	stack  []*lua.LTable
	segs   []seg
	// made estimates the memory the Go value takes so far; the memory
	// limit is asked again each time it grows by memStep.
	made, nextCheck int
	// foreign keeps values with no Go form as Foreign, and NaN and the
	// infinities as numbers, instead of failing.
	foreign bool
}

// memStep is how much a conversion may build between two questions to the
// memory limit; valueCost estimates one value's Go memory besides its
// string bytes (strings are shared, not copied).
const (
	memStep   = 4 << 20
	valueCost = 48
)

type seg struct {
	key string
	idx int // > 0 for an array element
}

func (c *converter) where() string {
	if len(c.segs) == 0 {
		return "value"
	}
	var b strings.Builder
	for i, s := range c.segs {
		if s.idx > 0 {
			b.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

type convertError struct {
	tooLarge bool
	msg      string
}

func (e *convertError) Error() string { return e.msg }

// toGo converts a Lua value to a JSON-like Go value. maxBytes bounds the
// total size of its strings (no limit when negative). A table whose values
// are the sequence 1..n becomes []any (as does an empty table that JSON
// marked as an array); other tables become map[string]any with number keys
// written as integers. Functions, userdata, threads, cycles and NaN are
// errors naming where they are.
func (vm *VM) toGo(v lua.LValue, maxBytes int) (any, error) {
	c := converter{vm: vm, budget: maxBytes}
	return c.conv(v, 0)
}

func (c *converter) spend(n int) error {
	if c.made += valueCost; c.made >= c.nextCheck {
		c.nextCheck = c.made + memStep
		if err := c.vm.env.MemLimit.Check(memStep, "converting a Lua value"); err != nil {
			return err
		}
	}
	if c.budget < 0 {
		return nil
	}
	c.budget -= n
	if c.budget < 0 {
		return &convertError{tooLarge: true, msg: "value is larger than the request size limit"}
	}
	return nil
}

func (c *converter) conv(v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		f := float64(x)
		if (math.IsNaN(f) || math.IsInf(f, 0)) && !c.foreign {
			return nil, &convertError{msg: fmt.Sprintf("%s: %v is not a JSON number", c.where(), f)}
		}
		return f, c.spend(8)
	case lua.LString:
		return string(x), c.spend(len(x))
	case *lua.LTable:
		if depth > maxDepth {
			return nil, &convertError{msg: fmt.Sprintf("%s: nested deeper than %d levels", c.where(), maxDepth)}
		}
		for _, up := range c.stack {
			if up == x {
				return nil, &convertError{msg: fmt.Sprintf("%s: table contains itself (a cycle)", c.where())}
			}
		}
		c.stack = append(c.stack, x)
		out, err := c.table(x, depth)
		c.stack = c.stack[:len(c.stack)-1]
		return out, err
	case *lua.LUserData:
		if x == c.vm.null {
			return nil, nil
		}
	}
	if c.foreign {
		return Foreign{Type: luaTypeName(v)}, c.spend(8)
	}
	return nil, &convertError{msg: fmt.Sprintf("%s: cannot convert a %s", c.where(), v.Type())}
}

func noHoles(t *lua.LTable, n int) bool {
	for i := 1; i <= n; i++ {
		if t.RawGetInt(i) == lua.LNil {
			return false
		}
	}
	return true
}

func (c *converter) table(t *lua.LTable, depth int) (any, error) {
	// A sequence: values at 1..n with no hole, and no other keys.
	if n := t.MaxN(); n > 0 && noHoles(t, n) {
		if k, _ := t.Next(lua.LNumber(n)); k == lua.LNil {
			if first, _ := t.Next(lua.LNil); first == lua.LNumber(1) {
				out := make([]any, n)
				for i := 1; i <= n; i++ {
					c.segs = append(c.segs, seg{idx: i})
					v, err := c.conv(t.RawGetInt(i), depth+1)
					c.segs = c.segs[:len(c.segs)-1]
					if err != nil {
						return nil, err
					}
					out[i-1] = v
				}
				return out, nil
			}
		}
	}
	out := make(map[string]any)
	var ferr error
	t.ForEach(func(k, v lua.LValue) {
		if ferr != nil {
			return
		}
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			f := float64(kk)
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				key = strconv.FormatInt(int64(f), 10)
			} else {
				key = strconv.FormatFloat(f, 'g', -1, 64)
			}
		default:
			ferr = &convertError{msg: fmt.Sprintf("%s: a %s cannot be a key", c.where(), k.Type())}
			return
		}
		if ferr = c.spend(len(key)); ferr != nil {
			return
		}
		c.segs = append(c.segs, seg{key: key})
		gv, err := c.conv(v, depth+1)
		c.segs = c.segs[:len(c.segs)-1]
		if err != nil {
			ferr = err
			return
		}
		out[key] = gv
	})
	if ferr != nil {
		return nil, ferr
	}
	if len(out) == 0 && t.Metatable == c.vm.arrayMeta {
		return []any{}, nil
	}
	return out, nil
}

// errorType classifies a conversion error.
func convType(err error) tools.ErrorType {
	if ce, ok := err.(*convertError); ok && ce.tooLarge {
		return tools.TypeTooLarge
	}
	return tools.TypeValidation
}

// luaTypeName names a Lua value's type for messages.
func luaTypeName(v lua.LValue) string {
	if v == nil {
		return "nil"
	}
	return strings.ToLower(v.Type().String())
}
