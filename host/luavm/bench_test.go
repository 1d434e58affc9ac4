package luavm_test

import (
	"context"
	"runtime"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"spellhost/host/luavm"
)

// BenchmarkInvokeGo is Tool.invoke's work done directly in Go: the kernel
// call with a params map built per call, as the Lua path builds one.
func BenchmarkInvokeGo(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := h.k.Invoke(ctx, "calculator", map[string]any{"input": "1 + 2"}, 0)
		if err != nil || res.(map[string]any)["result"] != 3.0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvokeLua is the same call from Lua: building the params table,
// the binding, converting params and the result. Its ns/op minus
// BenchmarkInvokeGo's is what the Lua path adds (target: under 2 µs).
func BenchmarkInvokeLua(b *testing.B) {
	h := newHarness(b)
	prog, err := luavm.Compile("bench.lua", ".", []byte(`
		function run(n)
			for i = 1, n do
				local r = Tool.invoke("calculator", {input = "1 + 2"})
				if r.result ~= 3 then error("wrong result") end
			end
		end`))
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
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := vm.CallLua(ctx, vm.GlobalLua("run"), lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNewVM starts one VU state from the compiled script and runs its
// chunk (targets: under 100 µs and 150 KB). bytes/vm is the heap one idle
// VM keeps, measured over 500 live VMs.
func BenchmarkNewVM(b *testing.B) {
	h := newHarness(b)
	prog, err := luavm.Compile("vu.lua", ".", []byte(`
		local count = 0
		function default() count = count + 1 Tool.invoke("calculator", {input = "1+1"}) end`))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		vm, err := luavm.New(h.env, prog, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := vm.RunMain(ctx); err != nil {
			b.Fatal(err)
		}
		vm.Close()
	}
	b.StopTimer()
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	vms := make([]*luavm.VM, n)
	for i := range vms {
		vms[i], _ = luavm.New(h.env, prog, i)
		vms[i].RunMain(ctx)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/vm")
	for _, vm := range vms {
		vm.Close()
	}
}

// BenchmarkListLua is stress.lua's rapid list test: Kernel.request list
// from Lua and a walk over the 30 tools it returns.
func BenchmarkListLua(b *testing.B) {
	h := newHarness(b)
	prog, err := luavm.Compile("bench.lua", ".", []byte(`
		function run(n)
			for i = 1, n do
				local r = Kernel.request({command = "list"})
				for _, t in ipairs(r.result.tools) do if t.name == "" then error("no name") end end
			end
		end`))
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
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := vm.CallLua(ctx, vm.GlobalLua("run"), lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFnTask is one Lua function task, submitted from Lua, run in a
// task worker's Lua state and waited for: what Task.submit{fn = ...}
// costs end to end, with the kernel's default 4 workers.
func BenchmarkFnTask(b *testing.B) {
	h := newHarness(b)
	prog, err := luavm.Compile("bench.lua", ".", []byte(`
		function double(x) return x * 2 end
		function work(i) return double(i) + #string.upper("abc") end
		function run(n)
			local ids = {}
			for i = 1, n do
				ids[#ids + 1] = Task.submit{fn = work, args = {i}}
				if #ids == 256 or i == n then
					for _, st in ipairs(Task.wait_all(ids)) do
						if st.state ~= "succeeded" then error(st.state .. ": " .. tostring(st.error and st.error.message)) end
					end
					ids = {}
				end
			end
		end`))
	if err != nil {
		b.Fatal(err)
	}
	vm, err := luavm.New(h.env, prog, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	defer h.env.Close()
	ctx := context.Background()
	if err := vm.RunMain(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := vm.CallLua(ctx, vm.GlobalLua("run"), lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	made, discarded := h.env.TaskStates()
	b.ReportMetric(float64(made), "states")
	b.ReportMetric(float64(discarded), "discarded")
}
