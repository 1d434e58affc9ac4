package luavm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/kernel"
	"spellhost/host/luavm"
)

// hangGuard is a deadline that only catches a hang: a test that meets it
// has failed, however fast the machine.
const hangGuard = 30 * time.Second

// newVM compiles src and makes a VM for it, without running it.
func (h *harness) newVM(t *testing.T, src string) *luavm.VM {
	t.Helper()
	prog, err := luavm.Compile("t.lua", "testdata", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vm, err := luavm.New(h.env, prog, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vm.Close)
	return vm
}

// TestErrorObjects: an error value that escapes the script is described
// by Go without ever taking the host down, whatever its metatable does.
func TestErrorObjects(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"__tostring raises", `error(setmetatable({}, {__tostring = function() error("boom") end}))`,
			"(error object's __tostring raised: t.lua:1: boom)"},
		{"__tostring raises a table", `error(setmetatable({}, {__tostring = function() error({}) end}))`,
			"(error object's __tostring raised: a table value)"},
		{"__tostring loops", `error(setmetatable({}, {__tostring = function() while true do end end}))`,
			"(error object's __tostring did not return within 1s)"},
		{"__tostring returns a table", `error(setmetatable({}, {__tostring = function() return {} end}))`,
			"(error object's __tostring returned a table, not a string)"},
		{"__tostring returns nothing", `error(setmetatable({}, {__tostring = function() end}))`,
			"(error object's __tostring returned a nil, not a string)"},
		{"__tostring overflows", `local mt = {} mt.__tostring = function(v) return tostring(v) end error(setmetatable({}, mt))`,
			"(error object's __tostring raised: stack overflow"},
		{"__index loops", `local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k] end error(t)`,
			"(error object is a table value)"},
		{"__tostring is a table", `error(setmetatable({}, {__tostring = {}}))`, "(error object is a table value)"},
		{"nil", `error(nil)`, "nil (the script raised an error without a value)"},
		{"userdata", `error(JSON.null)`, "null"},
		{"number", `error(42)`, "42"},
		{"boolean", `error(false)`, "false"},
		{"coroutine", `error(coroutine.create(print))`, "(error object is a thread value)"},
	}
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			err := h.run(t, ctx, "t.lua", c.src)
			var se *luavm.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, c.want) {
				t.Fatalf("err = %#v, want a script error containing %q", err, c.want)
			}
		})
	}
}

// TestErrorObjectAfterTimeout: once the call's context ended, the error
// names the limit and no __tostring runs.
func TestErrorObjectAfterTimeout(t *testing.T) {
	h := newHarness(t)
	vm := h.newVM(t, `function f() local t = setmetatable({}, {__tostring = function() ran = true return "x" end}) while true do end end`)
	if err := vm.RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, &kernel.TimeoutError{What: "call", Limit: 50 * time.Millisecond})
	defer cancel()
	_, err := vm.CallLua(ctx, vm.GlobalLua("f"))
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err = %v", err)
	}
	if vm.GlobalLua("ran") != lua.LNil {
		t.Fatal("a __tostring ran after the limit")
	}
}

// TestInternalErrors: a Go panic while a script runs is an InternalError
// with the Go stack; no pcall swallows it, and the VM refuses later calls.
func TestInternalErrors(t *testing.T) {
	h := newHarness(t)
	for _, src := range []string{
		`explode()`,
		`local ok, e = pcall(explode) caught = true`,
		`xpcall(explode, function(m) caught = true return m end) caught = true`,
		`local co = coroutine.wrap(function() explode() end) pcall(co) caught = true`,
		`pcall(function() local ok = pcall(explode) caught = true end) caught = true`,
		`check(1, {boom = function() explode() end}) caught = true`,
		`tostring(setmetatable({}, {__tostring = function() explode() end})) caught = true`,
	} {
		t.Run(src, func(t *testing.T) {
			vm := h.newVM(t, src)
			vm.SetTestFunc("explode", func(*lua.LState) int {
				var m map[string]int
				m["x"] = 1 // a nil map write: a real Go panic
				return 0
			})
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			err := vm.RunMain(ctx)
			var ie *luavm.InternalError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %T %v, want an InternalError", err, err)
			}
			if !strings.Contains(ie.Error(), "internal error (a bug in spellhost): assignment to entry in nil map") ||
				!strings.Contains(ie.Stack, "protect_test.go") {
				t.Fatalf("internal error %q, stack:\n%s", ie.Error(), ie.Stack)
			}
			if vm.GlobalLua("caught") != lua.LNil {
				t.Fatal("the script went on after a bug in spellhost")
			}
			if vm.Broken() != ie {
				t.Fatal("the VM does not say it is broken")
			}
			if _, err := vm.CallLua(ctx, vm.GlobalLua("print")); !errors.Is(err, ie) {
				t.Fatalf("a broken VM ran another call: %v", err)
			}
		})
	}
}

// TestInternalErrorOutsideLua: a panic in Go code around the script (the
// test hook stands for it) is recovered by Call as well.
func TestInternalErrorOutsideLua(t *testing.T) {
	h := newHarness(t)
	h.env.TestHook = func(point string) {
		if point == "call" {
			panic("deliberate panic at " + point)
		}
	}
	err := h.run(t, context.Background(), "t.lua", `print(1)`)
	var ie *luavm.InternalError
	if !errors.As(err, &ie) || !strings.Contains(ie.Error(), "deliberate panic at call") {
		t.Fatalf("err = %v", err)
	}
}

// TestNestedPcallOverflow: a stack overflow inside nested pcalls is the
// error "stack overflow", however the pcalls nest; before, some of these
// lost call frames and recursed on the Go stack until the process died.
func TestNestedPcallOverflow(t *testing.T) {
	cases := map[string]string{
		"pcall then call": `local n = 0
			local function g() n = n + 1 if n > 3000 then return end pcall(g) g() end
			g() return n`,
		"pcall of itself":         `local function f() return pcall(f) end return select("#", f())`,
		"error through pcalls":    `local function f() local ok, e = pcall(f) error(e, 0) end f()`,
		"overflow in the handler": `local function f() return xpcall(f, f) end return f()`,
		"plain recursion":         `local function f() return 1 + f() end local ok, e = pcall(f) assert(not ok) return e`,
		"recursion under pcalls": `local function f(n) if n == 0 then local function r() return 1 + r() end return r() end
			return select(2, pcall(f, n - 1)) end return f(50)`,
	}
	h := newHarness(t)
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			vm := h.newVM(t, "function main() "+src+" end")
			if err := vm.RunMain(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			out, err := vm.CallLua(ctx, vm.GlobalLua("main"))
			if ctx.Err() != nil {
				t.Fatal("hung")
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			} else if len(out) > 0 {
				msg = out[0].String()
			}
			var ie *luavm.InternalError
			if errors.As(err, &ie) || strings.Contains(msg, "nil") {
				t.Fatalf("%s: %v", name, msg)
			}
			t.Logf("%s: %s", name, clipString(msg, 200))
			// The state is still sound: it runs code afterwards.
			if _, err := vm.CallLua(ctx, vm.GlobalLua("assert"), lua.LTrue); err != nil {
				t.Fatalf("the state is broken after the overflow: %v", err)
			}
		})
	}
}

// TestPcallAtAFullStack calls pcall at every depth around the call
// stack's size, so one call starts in its very last slot: gopher-lua's
// growing stack lost eight frames there, and the frames of the callers
// were overwritten. Each depth must give an error or a result, and deep
// calls must still return to the right place afterwards.
func TestPcallAtAFullStack(t *testing.T) {
	h := newHarness(t)
	vm := h.newVM(t, `
		local returned = 0
		local function at(d, f)
			if d == 0 then return pcall(f) end
			local r = at(d - 1, f)
			returned = returned + 1
			return r
		end
		local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
		function main()
			for d = 990, 1030 do
				for _, f in ipairs({print, deep, function() return pcall(print) end}) do
					returned = 0
					local ok, e = pcall(at, d, f)
					if ok then
						assert(returned == d, "at depth " .. d .. " only " .. returned .. " frames returned")
					else
						assert(tostring(e):find("stack overflow"), tostring(e))
					end
					assert(deep(500) == 500)
				end
			end
			return "sound"
		end`)
	if err := vm.RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	out, err := vm.CallLua(ctx, vm.GlobalLua("main"))
	if err != nil || len(out) != 1 || out[0].String() != "sound" {
		t.Fatalf("%v %v", out, err)
	}
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestCoroutineContext: a coroutine runs under the context of the call
// that resumes it, not the one that made it.
func TestCoroutineContext(t *testing.T) {
	h := newHarness(t)
	vm := h.newVM(t, `
		loop = coroutine.wrap(function() while true do end end)
		local gen = coroutine.create(function() for i = 1, 3 do coroutine.yield(i) end end)
		function next_value() return select(2, coroutine.resume(gen)) end
		function run_loop() loop() end`)
	if err := vm.RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Resumed under a call that ends: it stops with the call's limit.
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond,
		&kernel.TimeoutError{What: "iteration", Limit: 100 * time.Millisecond})
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := vm.CallLua(ctx, vm.GlobalLua("run_loop"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("a coroutine made at the top level ignored the iteration's limit")
	}
	// A coroutine resumed by calls with contexts that end in between
	// still runs.
	for want := 1; want <= 3; want++ {
		cctx, ccancel := context.WithCancel(context.Background())
		out, err := vm.CallLua(cctx, vm.GlobalLua("next_value"))
		ccancel()
		if err != nil || len(out) != 1 || out[0] != lua.LNumber(want) {
			t.Fatalf("resume %d: %v %v", want, out, err)
		}
	}
}
