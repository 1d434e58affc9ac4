package luavm_test

import (
	"context"
	"strings"
	"testing"

	"spellhost/host/luavm"
)

// TestTasksStartClean: whatever a fn task changes in its worker's Lua
// state, the next task on that worker starts from a clean state; tasks
// that change nothing keep reusing their worker's state.
func TestTasksStartClean(t *testing.T) {
	h := newHarness(t)
	t.Cleanup(h.env.Close)
	vm := h.newVM(t, `
		local function run(fn, ...)
			local st = Task.wait(Task.submit{fn = fn, args = {...}}, 10)
			assert(st.state == "succeeded", st.state .. ": " .. tostring(st.error and st.error.message))
			return st.result
		end
		function check_pristine()
			assert(string.upper("a") == "A", "string.upper was replaced")
			assert(Tool.invoke("calculator", {input = "1+1"}).result == 2, "Tool.invoke was replaced")
			assert(leaked == nil, "a global leaked")
			assert(getmetatable("").__index == string, "the string metatable changed")
			assert(getmetatable("").__add == nil, "the string metatable grew")
			assert(string.evil == nil, "the string table grew")
			assert(rawget(_G, "os") ~= nil and os.time ~= nil, "os was dropped")
			assert(tostring(JSON.null) == "null", "JSON.null's metatable changed")
			local ok, e = pcall(Tool.invoke, "nope")
			assert(tostring(e):find("not_found"), "error values' metatable changed: " .. tostring(e))
			assert(Exec.vu == 0, "Exec changed")
			return "clean"
		end
		function main()
			assert(run(check_pristine) == "clean")
			local dirty = {
				function() string.upper = function() return "evil" end end,
				function() Tool.invoke = function() return {result = 3} end end,
				function() leaked = true end,
				function() getmetatable("").__index = {upper = function() return "evil" end} end,
				function() getmetatable("").__add = function() return 1 end end,
				function() string.evil = 1 end,
				function() os = nil end,
				function() getmetatable(JSON.null).__tostring = function() return "evil" end end,
				function() local _, e = pcall(Tool.invoke, "nope") getmetatable(e).__tostring = function() return "evil" end end,
				function() Exec.vu = 7 end,
				function() setfenv(0, {}) end,
				function() setmetatable(_G, nil) end,
				function() table.insert = print end,
			}
			for i, fn in ipairs(dirty) do
				run(fn)
				local ok, e = pcall(run, check_pristine)
				assert(ok, "after dirty task " .. i .. ": " .. tostring(e))
			end
			for i = 1, 20 do assert(run(check_pristine) == "clean") end
		end`)
	if err := vm.RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	made0, _ := h.env.TaskStates()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if _, err := vm.CallLua(ctx, vm.GlobalLua("main")); err != nil {
		t.Fatal(err)
	}
	made, discarded := h.env.TaskStates()
	made -= made0
	// 13 dirty tasks: 13 states closed; the clean tasks reuse the state
	// they find.
	if discarded != 13 || made > discarded+1 {
		t.Fatalf("%d states made, %d discarded; want one per dirty task", made, discarded)
	}
	t.Logf("%d worker states made for 47 tasks, %d closed by a task that changed them", made, discarded)
}

// TestTaskRandomness: math.random in a fn task is seeded by the run's
// seed and the task's number: the same in every run, and untouched by
// what an earlier task on the same worker did to the generator.
func TestTaskRandomness(t *testing.T) {
	draws := func(between string) string {
		h := newHarness(t)
		t.Cleanup(h.env.Close)
		vm := h.newVM(t, `function main()
			local function run(fn) return Task.wait(Task.submit{fn = fn}, 10).result end
			local a = run(function() return math.random(1, 1e9) end)
			run(function() `+between+` end)
			local b = run(function() return math.random(1, 1e9) end)
			return a .. " " .. b end`)
		if err := vm.RunMain(context.Background()); err != nil {
			t.Fatal(err)
		}
		out, err := vm.CallLua(context.Background(), vm.GlobalLua("main"))
		if err != nil {
			t.Fatal(err)
		}
		return out[0].String()
	}
	plain, reseeded := draws(`return 1`), draws(`math.randomseed(99) return math.random()`)
	if plain != reseeded {
		t.Fatalf("draws %q without and %q with a reseed in between", plain, reseeded)
	}
}

// TestTaskWorkerPanic: a panic in a task worker's goroutine fails the
// task as internal and reports the bug to the run.
func TestTaskWorkerPanic(t *testing.T) {
	h := newHarness(t)
	t.Cleanup(h.env.Close)
	reported := make(chan error, 4)
	h.env.OnInternalError = func(ie *luavm.InternalError) { reported <- ie }
	vm := h.newVM(t, `function main()
		local st = Task.wait(Task.submit{fn = function() return 1 end}, 10)
		return st.state, st.error.type, st.error.message end`)
	if err := vm.RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.env.TestHook = func(point string) {
		if point == "task" {
			panic("deliberate panic in a task worker")
		}
	}
	out, err := vm.CallLua(context.Background(), vm.GlobalLua("main"))
	if err != nil || len(out) != 3 || out[0].String() != "failed" || out[1].String() != "internal" ||
		!strings.Contains(out[2].String(), "deliberate panic in a task worker") {
		t.Fatalf("%v %v", out, err)
	}
	select {
	case ie := <-reported:
		if !strings.Contains(ie.Error(), "internal error (a bug in spellhost)") {
			t.Fatal(ie)
		}
	default:
		t.Fatal("the panic was not reported to the run")
	}
}
