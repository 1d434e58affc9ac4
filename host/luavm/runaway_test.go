package luavm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"spellhost/host/kernel"
	"spellhost/tools"
)

// TestRunaways stops each kind of runaway script, then checks the host
// still answers tool calls in the same process (goleak in TestMain checks
// no goroutine was left behind). It asserts no wall-clock bound: a run
// that outlives hangGuard has hung. With -v it logs how long each took
// to stop against the limit that fired (the watchdog's aim is under 2x);
// "immediate" cases are refused by a cap before they build anything.
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
		{"deep recursion in pcall, again and again", `local function f() return 1 + f() end while true do pcall(f) end`, "timed out after 200ms"},
		{"nested pcalls that recurse after each overflow", `local function g() pcall(g) g() end g()`, "timed out after 200ms"},
		{"pcall of itself", `local function f() return pcall(f) end while true do f() end`, "timed out after 200ms"},
		{"unpack bomb", `return unpack({}, 1, 1e9)`, "results exceed the limit"},
		{"select of an unpack bomb", `return select("#", unpack({}, 1, 1e8))`, "results exceed the limit"},
		{"string.byte bomb", `local s = string.rep("x", 1e6) return string.byte(s, 1, 1e7)`, "results exceed the limit"},
		{"string.byte loop", `local s = string.rep("x", 6e4) while true do local t = {string.byte(s, 1, -1)} end`, "timed out after 200ms"},
		{"os.date bomb", `return os.date(string.rep("%c", 5e5))`, "string limit"},
		{"os.date loop", `local f = string.rep("%Y-%m-%d ", 5e4) while true do os.date(f) end`, "timed out after 200ms"},
		{"string.rep bomb", `return string.rep("x", 1e10)`, "string limit"},
		{"string.rep loop", `local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1e5) end`, "timed out after 200ms"},
		{"string.format width", `return string.format("%99999999d", 1)`, "invalid format"},
		{"table.concat loop", `local t = {} for i = 1, 1e5 do t[i] = "ab" end while true do table.concat(t, ",") end`, "timed out after 200ms"},
		{"table.insert far past the end", `table.insert({}, 6e7, 1)`, "past the end"},
		{"table growth", `local t = {} while true do t[#t + 1] = {} end`, "timed out after 200ms"},
		{"concat growth", `local s = "" while true do s = s .. "x" end`, "timed out after 200ms"},
		{"sort comparator loops", `table.sort({3, 2, 1}, function() while true do end end)`, "timed out after 200ms"},
		{"sort again and again", `local t = {} for i = 1, 2e4 do t[i] = (i * 7919) % 2e4 end
			while true do table.sort(t, function(a, b) return a > b end) table.sort(t) end`, "timed out after 200ms"},
		{"gsub callback loops", `return ("abc"):gsub("%w", function() while true do end end)`, "timed out after 200ms"},
		{"__tostring loops in print", `print(setmetatable({}, {__tostring = function() while true do end end}))`, "timed out after 200ms"},
		{"__index recurses", `local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k] end return t.x`, "overflow"},
		{"__index chain loops", `local a, b = {}, {} setmetatable(a, {__index = b}) setmetatable(b, {__index = a}) return a.x`, "too many recursions"},
		{"__lt loops in sort", `local mt = {__lt = function() while true do end end}
			table.sort({setmetatable({}, mt), setmetatable({}, mt)})`, "timed out after 200ms"},
		{"pcall cannot swallow the limit", `while true do pcall(function() while true do end end) end`, "timed out after 200ms"},
		{"xpcall handler loops", `xpcall(function() while true do end end, function() while true do end end)`, "timed out after 200ms"},
		{"coroutine loop", `local co = coroutine.wrap(function() while true do end end) co()`, "timed out after 200ms"},
		{"coroutine ping-pong", `local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end`, "timed out after 200ms"},
		{"coroutine nesting", `local function f() coroutine.wrap(f)() end f()`, "nested more than 200 deep"},
		{"coroutine hoard", `local t = {} for i = 1, 1e9 do t[i] = coroutine.create(print) end`, "coroutines are alive"},
		{"loadstring loop", `local src = string.rep("x = 1 ", 1.7e5) while true do loadstring(src) end`, "timed out after 200ms"},
		{"sleep", `sleep(60)`, "timed out after 200ms"},
		{"slow tool", `Tool.invoke("sleeper", {ms = 60000}, {timeout = 120})`, "timed out after 200ms"},
		{"pattern backtracking", `return string.rep("a", 30000):find(".-.-.-.-.-.-b")`, "timed out after 200ms"},
		{"gsub bomb", `local s = string.rep("x", 1e6) return s:gsub("x", string.rep("y", 1000))`, "string limit"},
	}
	h := newHarness(t)
	var report strings.Builder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A cap refuses before the limit could fire: its case gets a
			// limit that only a hang reaches, so a slow machine (or -race)
			// cannot turn the refusal into a timeout.
			limit := limit
			if !strings.Contains(c.want, "timed out") {
				limit = hangGuard / 2
			}
			ctx, cancel := context.WithTimeoutCause(context.Background(), limit,
				&kernel.TimeoutError{What: "script", Limit: limit})
			defer cancel()
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- h.run(t, ctx, "runaway.lua", c.src) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(hangGuard):
				t.Fatalf("still running %v after the %v limit", hangGuard, limit)
			}
			elapsed := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(c.want, "timed out") {
				if !errors.Is(err, tools.ErrTimeout) {
					t.Fatalf("a stopped script's error %v does not classify as a timeout", err)
				}
				fmt.Fprintf(&report, "  %-50s stopped after %7.1fms  (%.2fx the %v limit)\n", c.name,
					float64(elapsed.Microseconds())/1000, float64(elapsed)/float64(limit), limit)
			} else {
				fmt.Fprintf(&report, "  %-50s refused after %7.1fms  (immediate: %s)\n", c.name,
					float64(elapsed.Microseconds())/1000, c.want)
			}
			// The host is still healthy: a new VM on the same kernel works.
			if err := h.run(t, context.Background(), "after.lua", `assert(Tool.invoke("calculator", {input = "2+2"}).result == 4)`); err != nil {
				t.Fatalf("host unhealthy after the runaway: %v", err)
			}
		})
	}
	t.Logf("time to stop each runaway:\n%s", report.String())
	deadline := time.Now().Add(hangGuard)
	for h.k.Stats().Running != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // a cancelled tool goroutine returns
	}
	if s := h.k.Stats(); s.Running != 0 {
		t.Fatalf("tool calls still running: %+v", s)
	}
}
