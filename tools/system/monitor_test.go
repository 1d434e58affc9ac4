package system_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/system"
)

// sysmonTool returns system_monitor with <tmp>/box as the base folder, readable
// and writable, and that folder. <tmp> also holds <tmp>/boxx and
// <tmp>/outside.
func sysmonTool(t testing.TB) (tools.Tool, string) {
	t.Helper()
	root := t.TempDir()
	box := filepath.Join(root, "box")
	for _, d := range []string{filepath.Join(box, "sub"), filepath.Join(root, "boxx"), filepath.Join(root, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(box, "file.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := perm.New(perm.Config{Base: box, Read: []string{box}, Write: []string{box}})
	if err != nil {
		t.Fatal(err)
	}
	box, _ = filepath.EvalSymlinks(box)
	return system.Monitor(ps), box
}

func smNeedProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
}

// smInt returns an integer field, failing the test when it is not one.
func smInt(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	switch v := m[key].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	}
	t.Fatalf("%s = %v (%T), want an integer", key, m[key], m[key])
	return 0
}

func smPercent(t *testing.T, v any) float64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok || f < 0 || f > 100 {
		t.Fatalf("percentage %v (%T), want 0 to 100", v, v)
	}
	return f
}

func TestSystemMonitorSections(t *testing.T) {
	smNeedProc(t)
	tool, box := sysmonTool(t)

	t.Run("all", func(t *testing.T) {
		res := call(t, tool, map[string]any{})
		for _, k := range []string{"operation", "cpu", "memory", "disk", "process"} {
			if _, ok := res[k]; !ok {
				t.Fatalf("no %s in %v", k, res)
			}
		}
		if res["operation"] != "all" {
			t.Fatalf("operation %v", res["operation"])
		}
	})

	t.Run("cpu", func(t *testing.T) {
		start := time.Now()
		res := call(t, tool, map[string]any{"operation": "cpu", "sample_ms": 50})
		if time.Since(start) < 50*time.Millisecond {
			t.Fatal("did not sample for sample_ms")
		}
		if len(res) != 2 {
			t.Fatalf("sections: %v", res)
		}
		cpu := res["cpu"].(map[string]any)
		if smInt(t, cpu, "cores") != int64(runtime.NumCPU()) || smInt(t, cpu, "sample_ms") != 50 {
			t.Fatalf("cpu %v", cpu)
		}
		load := cpu["load_avg"].([]any)
		if len(load) != 3 {
			t.Fatalf("load_avg %v", load)
		}
		for _, l := range load {
			if f, ok := l.(float64); !ok || f < 0 {
				t.Fatalf("load_avg %v", load)
			}
		}
		smPercent(t, cpu["usage_percent"])
		per := cpu["per_cpu_percent"].([]any)
		if len(per) == 0 {
			t.Fatalf("per_cpu_percent %v", per)
		}
		for _, p := range per {
			smPercent(t, p)
		}
	})

	t.Run("cpu without sampling", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "cpu", "sample_ms": 0})
		cpu := res["cpu"].(map[string]any)
		if cpu["usage_percent"] != nil || cpu["per_cpu_percent"] != nil || len(cpu["load_avg"].([]any)) != 3 {
			t.Fatalf("cpu %v", cpu)
		}
	})

	t.Run("memory", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "memory"})
		m := res["memory"].(map[string]any)
		total, avail, used, free := smInt(t, m, "total"), smInt(t, m, "available"), smInt(t, m, "used"), smInt(t, m, "free")
		if total <= 0 || avail < 0 || avail > total || used != total-avail || free < 0 || free > total {
			t.Fatalf("memory %v", m)
		}
		smPercent(t, m["used_percent"])
		st, sf, su := smInt(t, m, "swap_total"), smInt(t, m, "swap_free"), smInt(t, m, "swap_used")
		if st < 0 || su != max(st-sf, 0) {
			t.Fatalf("swap %v", m)
		}
		smInt(t, m, "buffers")
		smInt(t, m, "cached")
	})

	t.Run("process", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "process"})
		p := res["process"].(map[string]any)
		if smInt(t, p, "pid") != int64(os.Getpid()) || smInt(t, p, "rss") <= 0 || smInt(t, p, "rss_peak") < smInt(t, p, "rss") ||
			smInt(t, p, "threads") < 1 || smInt(t, p, "goroutines") < 1 || smInt(t, p, "heap_alloc") <= 0 ||
			smInt(t, p, "heap_goal") <= 0 || smInt(t, p, "go_memory") < smInt(t, p, "heap_alloc") || smInt(t, p, "num_gc") < 0 ||
			smInt(t, p, "open_fds") < 3 {
			t.Fatalf("process %v", p)
		}
		if u, ok := p["uptime_s"].(float64); !ok || u < 0 {
			t.Fatalf("uptime_s %v", p["uptime_s"])
		}
	})

	t.Run("process counts goroutines", func(t *testing.T) {
		stop := make(chan struct{})
		done := make(chan struct{})
		const extra = 20
		for range extra {
			go func() { <-stop; done <- struct{}{} }()
		}
		after := smInt(t, call(t, tool, map[string]any{"operation": "process"})["process"].(map[string]any), "goroutines")
		close(stop)
		for range extra {
			<-done
		}
		// Other goroutines come and go; these 20 and the test's own are there.
		if after < extra+1 {
			t.Fatalf("goroutines %d with %d parked", after, extra)
		}
	})

	disk := []struct {
		name string
		path any
		want string
	}{
		{"base folder by default", nil, box},
		{"relative folder", "sub", filepath.Join(box, "sub")},
		{"absolute folder", filepath.Join(box, "sub"), filepath.Join(box, "sub")},
		{"file", "file.txt", filepath.Join(box, "file.txt")},
	}
	for _, c := range disk {
		t.Run("disk "+c.name, func(t *testing.T) {
			params := map[string]any{"operation": "disk"}
			if c.path != nil {
				params["path"] = c.path
			}
			d := call(t, tool, params)["disk"].(map[string]any)
			total, free, avail, used := smInt(t, d, "total"), smInt(t, d, "free"), smInt(t, d, "available"), smInt(t, d, "used")
			if d["path"] != c.want || total <= 0 || free < 0 || free > total || avail > free || used != total-free {
				t.Fatalf("disk %v", d)
			}
			smPercent(t, d["used_percent"])
			smInt(t, d, "inodes_total")
			smInt(t, d, "inodes_free")
		})
	}

	t.Run("disk of the base folder needs no read permission", func(t *testing.T) {
		dir := t.TempDir()
		ps, err := perm.New(perm.Config{Base: dir})
		if err != nil {
			t.Fatal(err)
		}
		d := call(t, system.Monitor(ps), map[string]any{"operation": "disk"})["disk"].(map[string]any)
		if smInt(t, d, "total") <= 0 {
			t.Fatalf("disk %v", d)
		}
	})

	t.Run("nil perm still reports memory", func(t *testing.T) {
		res := call(t, system.Monitor(nil), map[string]any{"operation": "memory"})
		if smInt(t, res["memory"].(map[string]any), "total") <= 0 {
			t.Fatalf("memory %v", res)
		}
	})
}

func TestSystemMonitorErrors(t *testing.T) {
	tool, box := sysmonTool(t)
	root := filepath.Dir(box)
	if err := os.Symlink(filepath.Join(root, "outside"), filepath.Join(box, "out")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"unknown operation", tool, map[string]any{"operation": "network"}, tools.TypeValidation, []string{`"operation"`, `"network"`}},
		{"operation wrong type", tool, map[string]any{"operation": true}, tools.TypeValidation, []string{`"operation"`}},
		{"unknown parameter", tool, map[string]any{"interval": 5}, tools.TypeValidation, []string{`"interval"`}},
		{"sample_ms too small", tool, map[string]any{"operation": "cpu", "sample_ms": 1}, tools.TypeValidation, []string{`"sample_ms"`, "50 to 2000"}},
		{"sample_ms negative", tool, map[string]any{"operation": "cpu", "sample_ms": -1}, tools.TypeValidation, []string{`"sample_ms"`}},
		{"sample_ms too large", tool, map[string]any{"operation": "cpu", "sample_ms": 2001}, tools.TypeValidation, []string{`"sample_ms"`, "2001"}},
		{"sample_ms fractional", tool, map[string]any{"operation": "cpu", "sample_ms": 50.5}, tools.TypeValidation, []string{`"sample_ms"`, "integer"}},
		{"sample_ms for memory", tool, map[string]any{"operation": "memory", "sample_ms": 100}, tools.TypeValidation, []string{`"sample_ms"`, "memory"}},
		{"path for process", tool, map[string]any{"operation": "process", "path": "."}, tools.TypeValidation, []string{`"path"`, "process"}},
		{"path wrong type", tool, map[string]any{"operation": "disk", "path": 1}, tools.TypeValidation, []string{`"path"`, "expected string"}},
		{"path empty", tool, map[string]any{"operation": "disk", "path": ""}, tools.TypeValidation, []string{`"path"`, "empty"}},
		{"path missing", tool, map[string]any{"operation": "disk", "path": "nope"}, tools.TypeNotFound, []string{`"path"`, "nope"}},
		// Permissions.
		{"path dot-dot", tool, map[string]any{"operation": "disk", "path": "../outside"}, tools.TypePermission, []string{`"path"`, "--allow-read"}},
		{"path parent", tool, map[string]any{"operation": "disk", "path": ".."}, tools.TypePermission, []string{"--allow-read"}},
		{"path absolute outside", tool, map[string]any{"operation": "disk", "path": "/"}, tools.TypePermission, []string{"--allow-read"}},
		{"path sibling prefix", tool, map[string]any{"operation": "disk", "path": box + "x"}, tools.TypePermission, []string{"--allow-read"}},
		{"path symlink out", tool, map[string]any{"operation": "disk", "path": "out"}, tools.TypePermission, []string{"--allow-read"}},
		{"path refused in all", tool, map[string]any{"path": "/"}, tools.TypePermission, []string{"--allow-read"}},
		{"nil perm disk", system.Monitor(nil), map[string]any{"operation": "disk"}, tools.TypePermission, []string{"--allow-read"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, c.tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestSystemMonitorContext(t *testing.T) {
	smNeedProc(t)
	tool, _ := sysmonTool(t)
	params := map[string]any{"operation": "cpu", "sample_ms": 2000}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tools.Call(ctx, tool, params)
	if tools.TypeOf(err) != tools.TypeTimeout || time.Since(start) > time.Second {
		t.Fatalf("deadline: got %v after %v, want a prompt timeout", err, time.Since(start))
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := tools.Call(ctx, tool, params); tools.TypeOf(err) != tools.TypeCancelled {
		t.Fatalf("cancelled: got %v", err)
	}
}

// smFakeProc writes a stand-in /proc holding files and points the tool
// at it.
func smFakeProc(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	system.SetProcRoot(t, dir)
}

func TestSystemMonitorWithoutProc(t *testing.T) {
	tool, _ := sysmonTool(t)
	smFakeProc(t, nil) // an empty folder: no /proc files at all
	for _, op := range []string{"all", "cpu", "memory", "process"} {
		msg := callErr(t, tool, map[string]any{"operation": op}, tools.TypeExecution)
		if !strings.Contains(msg, "need Linux with /proc") {
			t.Fatalf("%s: message %q does not say what is missing", op, msg)
		}
	}
	// Disk figures come from statfs, not /proc.
	if runtime.GOOS == "linux" {
		call(t, tool, map[string]any{"operation": "disk"})
	}
}

func TestSystemMonitorParsesProc(t *testing.T) {
	tool, _ := sysmonTool(t)
	smFakeProc(t, map[string]string{
		"loadavg": "0.50 1.25 2.00 3/108 30538\n",
		"stat":    "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1 2 3\n",
		"meminfo": "MemTotal:       1000 kB\nMemFree:         200 kB\nBuffers:          50 kB\nCached:          150 kB\n" +
			"SwapTotal:       100 kB\nSwapFree:         40 kB\n",
		"self/status": "Name:\tspellhost\nVmHWM:\t    4096 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n",
		"self/fd/0":   "",
	})
	res := call(t, tool, map[string]any{"operation": "memory"})
	m := res["memory"].(map[string]any)
	// No MemAvailable: estimated as MemFree + Buffers + Cached.
	if m["total"] != int64(1024000) || m["available"] != int64(409600) || m["used"] != int64(614400) ||
		m["used_percent"] != 60.0 || m["swap_used"] != int64(61440) {
		t.Fatalf("memory %v", m)
	}
	res = call(t, tool, map[string]any{"operation": "process"})
	p := res["process"].(map[string]any)
	if p["rss"] != int64(2048*1024) || p["rss_peak"] != int64(4096*1024) || p["threads"] != int64(7) || p["open_fds"] != 0 {
		t.Fatalf("process %v", p)
	}
	res = call(t, tool, map[string]any{"operation": "cpu", "sample_ms": 0})
	c := res["cpu"].(map[string]any)
	if l := c["load_avg"].([]any); l[0] != 0.5 || l[1] != 1.25 || l[2] != 2.0 {
		t.Fatalf("cpu %v", c)
	}
	// A /proc/stat that does not move is reported, not turned into 0 %.
	msg := callErr(t, tool, map[string]any{"operation": "cpu", "sample_ms": 50}, tools.TypeExecution)
	if !strings.Contains(msg, "did not advance") {
		t.Fatalf("message %q", msg)
	}

	for name, data := range map[string]string{
		"loadavg":     "x y z\n",
		"stat":        "cpu 1 2\n",
		"meminfo":     "MemFree: 1 kB\n",
		"self/status": "Name:\tx\n",
	} {
		t.Run("malformed "+name, func(t *testing.T) {
			smFakeProc(t, map[string]string{
				"loadavg": "0 0 0 1/1 1\n", "stat": "cpu 1 0 1 1 0\n", "meminfo": "MemTotal: 1 kB\nMemFree: 1 kB\n",
				"self/status": "VmRSS: 1 kB\nThreads: 1\n", "self/fd/0": "", name: data,
			})
			params := map[string]map[string]any{
				"loadavg": {"operation": "cpu", "sample_ms": 0}, "stat": {"operation": "cpu", "sample_ms": 50},
				"meminfo": {"operation": "memory"}, "self/status": {"operation": "process"},
			}[name]
			msg := callErr(t, tool, params, tools.TypeExecution)
			if !strings.Contains(msg, "unexpected format") || !strings.Contains(msg, name) {
				t.Fatalf("message %q", msg)
			}
		})
	}
}

func TestSystemMonitorExample(t *testing.T) {
	smNeedProc(t)
	tool, _ := sysmonTool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil || spec.Inline || spec.Category != "system" {
		t.Fatalf("spec: %v %+v", err, spec)
	}
	res := call(t, tool, spec.Example)
	if _, ok := res["memory"]; !ok {
		t.Fatalf("example: %v", res)
	}
}

func BenchmarkSystemMonitor(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip(err)
	}
	tool, _ := sysmonTool(b)
	// Everything but the cpu sample, which only waits.
	for _, op := range []string{"memory", "process", "disk"} {
		params := map[string]any{"operation": op}
		b.Run(op, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tools.Call(b.Context(), tool, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
