package luavm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"spellhost/host/kernel"
	"spellhost/tools"
)

// TestRunaways stops each kind of runaway script within twice its limit,
// then checks the host still answers tool calls in the same process
// (goleak in TestMain checks no goroutine was left behind).
func TestRunaways(t *testing.T) {
	const limit = 200 * time.Millisecond
	cases := []struct {
		name, src string
		want      string // in the error message
	}{
		{"infinite loop", `while true do end`, "timed out after 200ms"},
		{"infinite tail calls", `local function f() return f() end return f()`, "timed out after 200ms"},
		{"tail calls with arguments", `local function f(n) return f(n + 1) end return f(1)`, "timed out after 200ms"},
		{"deep recursion", `local function f() return 1 + f() end return f()`, "overflow"},
		{"unpack bomb", `return unpack({}, 1, 1e9)`, "results exceed the limit"},
		{"string.rep bomb", `return string.rep("x", 1e10)`, "string limit"},
		{"string.rep loop", `local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1e5) end`, "timed out after 200ms"},
		{"table growth", `local t = {} while true do t[#t + 1] = {} end`, "timed out after 200ms"},
		{"concat growth", `local s = "" while true do s = s .. "x" end`, "timed out after 200ms"},
		{"pcall cannot swallow the limit", `while true do pcall(function() while true do end end) end`, "timed out after 200ms"},
		{"xpcall handler loops", `xpcall(function() while true do end end, function() while true do end end)`, "timed out after 200ms"},
		{"coroutine loop", `local co = coroutine.wrap(function() while true do end end) co()`, "timed out after 200ms"},
		{"sleep", `sleep(60)`, "timed out after 200ms"},
		{"slow tool", `Tool.invoke("sleeper", {ms = 60000}, {timeout = 120})`, "timed out after 200ms"},
		{"pattern backtracking", `return string.rep("a", 30000):find(".-.-.-.-.-.-b")`, "timed out after 200ms"},
		{"gsub bomb", `local s = string.rep("x", 1e6) return s:gsub("x", string.rep("y", 1000))`, "string limit"},
	}
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeoutCause(context.Background(), limit,
				&kernel.TimeoutError{What: "script", Limit: limit})
			defer cancel()
			start := time.Now()
			err := h.run(t, ctx, "runaway.lua", c.src)
			elapsed := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if elapsed > 2*limit {
				t.Fatalf("stopped after %v, over twice the %v limit", elapsed, limit)
			}
			if strings.Contains(c.want, "timed out") && !errors.Is(err, tools.ErrTimeout) {
				t.Fatalf("a stopped script's error %v does not classify as a timeout", err)
			}
			// The host is still healthy: a new VM on the same kernel works.
			if err := h.run(t, context.Background(), "after.lua", `assert(Tool.invoke("calculator", {input = "2+2"}).result == 4)`); err != nil {
				t.Fatalf("host unhealthy after the runaway: %v", err)
			}
		})
	}
	if s := h.k.Stats(); s.Running != 0 {
		time.Sleep(50 * time.Millisecond) // let a cancelled tool goroutine return
		if s = h.k.Stats(); s.Running != 0 {
			t.Fatalf("tool calls still running: %+v", s)
		}
	}
}
