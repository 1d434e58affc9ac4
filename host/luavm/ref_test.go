package luavm_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"spellhost/host/luavm"
)

// TestRefs: the host reaches a script's globals, calls its functions and
// passes data in and out through Refs, never through gopher-lua's values.
func TestRefs(t *testing.T) {
	h := newHarness(t)
	vm := h.newVM(t, `
limit = 3
function add(data, extra)
  local n = 0
  for _, v in ipairs(data.values) do n = n + v end
  return {sum = n + (extra or 0), name = data.name}, "ignored second result"
end
function nothing() end
`)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := vm.RunMain(ctx); err != nil {
		t.Fatal(err)
	}
	if !vm.HasFunction("add") || vm.HasFunction("limit") || vm.HasFunction("missing") {
		t.Fatal("HasFunction tells functions from other globals wrongly")
	}
	if !vm.Global("missing").IsNil() || vm.Global("limit").IsNil() || !(luavm.Ref{}).IsNil() {
		t.Fatal("IsNil is wrong")
	}
	data := vm.ToLua(map[string]any{"values": []any{1.0, 2.0, 3.5}, "name": "calc"})
	out, err := vm.Call(ctx, vm.Global("add"), data, vm.ToLua(10.0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := vm.FromLua(out, -1)
	if want := map[string]any{"sum": 16.5, "name": "calc"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("add returned %v (%v), want %v", got, err, want)
	}
	// The zero Ref is nil, as an argument and as a result.
	out, err = vm.Call(ctx, vm.Global("add"), data, luavm.Ref{})
	if got, _ := vm.FromLua(out, -1); err != nil || got.(map[string]any)["sum"] != 6.5 {
		t.Fatalf("add with a nil extra: %v %v", got, err)
	}
	out, err = vm.Call(ctx, vm.Global("nothing"))
	if err != nil || !out.IsNil() {
		t.Fatalf("a function returning nothing: %v %v", out, err)
	}
	// Errors keep their type.
	_, err = vm.Call(ctx, vm.Global("missing"))
	var se *luavm.ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("calling nil: %v, want a script error", err)
	}
	if _, err := vm.FromLua(vm.Global("add"), -1); err == nil {
		t.Fatal("a function converted to Go")
	}
}

// TestRefOfAnotherVM: a Ref made by one VM is refused by another (a Lua
// state read from two goroutines is a data race), as a bug in spellhost.
func TestRefOfAnotherVM(t *testing.T) {
	h := newHarness(t)
	a, b := h.newVM(t, "function f(x) return x end"), h.newVM(t, "function f(x) return x end")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	for _, vm := range []*luavm.VM{a, b} {
		if err := vm.RunMain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var ie *luavm.InternalError
	if _, err := b.Call(ctx, a.Global("f")); !errors.As(err, &ie) {
		t.Fatalf("b called a's function: %v", err)
	}
	if _, err := b.Call(ctx, b.Global("f"), a.ToLua("x")); !errors.As(err, &ie) {
		t.Fatalf("b took a's value: %v", err)
	}
	if _, err := b.FromLua(a.ToLua("x"), -1); !errors.As(err, &ie) {
		t.Fatalf("b converted a's value: %v", err)
	}
	// b is not broken by the refusal.
	if out, err := b.Call(ctx, b.Global("f"), b.ToLua("y")); err != nil || out.IsNil() || b.Broken() != nil {
		t.Fatalf("b after a refusal: %v %v", out, err)
	}
}

// TestGlobalIsRaw: a metatable on _G that raises or loops is not run when
// the host looks a global up (that would happen outside any protected call
// and any watchdog).
func TestGlobalIsRaw(t *testing.T) {
	h := newHarness(t)
	for _, src := range []string{
		`setmetatable(_G, {__index = function(t, k) error("no global " .. k) end})`,
		`setmetatable(_G, {__index = function(t, k) while true do end end})`,
		`setmetatable(_G, {__index = function(t, k) return function() end end})`,
	} {
		vm := h.newVM(t, src)
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		if err := vm.RunMain(ctx); err != nil {
			t.Fatal(err)
		}
		if !vm.Global("default").IsNil() || vm.HasFunction("setup") {
			t.Errorf("%s: a missing global was looked up through the metatable", src)
		}
		cancel()
	}
}

// BenchmarkCall measures what a VU pays per iteration to call its exec
// function with its two data arguments: through Refs, and through
// gopher-lua's values directly (what the host did before Refs).
func BenchmarkCall(b *testing.B) {
	h := newHarness(b)
	prog, err := luavm.Compile("b.lua", "testdata", []byte("shared = {n = 3}\nfunction default(data, sdata) end"))
	if err != nil {
		b.Fatal(err)
	}
	vm, err := luavm.New(h.env, prog, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	ctx := context.Background()
	if err := vm.RunMain(ctx); err != nil {
		b.Fatal(err)
	}
	data := map[string]any{"users": []any{"a", "b"}, "n": 3.0}
	b.Run("ref", func(b *testing.B) {
		fn, d := vm.Global("default"), vm.ToLua(data)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := vm.Call(ctx, fn, d, luavm.Ref{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lua", func(b *testing.B) {
		fn, d := vm.GlobalLua("default"), vm.GlobalLua("shared")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := vm.CallLua(ctx, fn, d, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFromLuaForeign: values with no Go form, and NaN and the infinities,
// come out named instead of failing the whole conversion; cycles still
// fail.
func TestFromLuaForeign(t *testing.T) {
	h := newHarness(t)
	vm := h.newVM(t, `
function f() end
opts = {exec = f, co = coroutine.create(f), nan = 0/0, inf = 1/0, list = {1, "two", print}}
cyclic = {}
cyclic.self = cyclic
`)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := vm.RunMain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.FromLua(vm.Global("opts"), -1); err == nil {
		t.Fatal("FromLua converted a function")
	}
	v, err := vm.FromLuaForeign(vm.Global("opts"), -1)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["exec"] != (luavm.Foreign{Type: "function"}) || m["co"] != (luavm.Foreign{Type: "thread"}) ||
		m["list"].([]any)[2] != (luavm.Foreign{Type: "function"}) || m["list"].([]any)[1] != "two" {
		t.Fatalf("converted %#v", m)
	}
	if !math.IsNaN(m["nan"].(float64)) || !math.IsInf(m["inf"].(float64), 1) {
		t.Fatalf("nan %v inf %v", m["nan"], m["inf"])
	}
	if _, err := vm.FromLuaForeign(vm.Global("cyclic"), -1); err == nil {
		t.Fatal("a cycle converted")
	}
}
