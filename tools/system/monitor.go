package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"spellhost/internal/procmem"
	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// System monitor settings.
const (
	defaultSampleMS = 100
	minSampleMS     = 50 // below this /proc/stat may not have ticked
	maxSampleMS     = 2000
	maxProcFile     = 1 << 20 // bytes read of a /proc file
)

// startTime is when this package was initialised, which is when
// spellhost started.
var startTime = time.Now()

// proc is where /proc is mounted; tests point it elsewhere. The
// files read below it are fixed, never taken from parameters.
var proc = "/proc"

// The files read, below proc.
const (
	loadavg = "/loadavg"
	stat    = "/stat"
	meminfo = "/meminfo"
	status  = "/self/status"
	fdDir   = "/self/fd"
)

// runtimeMetrics are the runtime metrics of the process section, in the
// order of metricKeys.
var (
	runtimeMetrics = [...]string{
		"/gc/heap/goal:bytes",
		"/memory/classes/total:bytes",
		"/sched/goroutines:goroutines",
		"/gc/cycles/total:gc-cycles",
	}
	metricKeys = [len(runtimeMetrics)]string{"heap_goal", "go_memory", "goroutines", "num_gc"}
)

func systemMonitorSpec() tools.Spec {
	return tools.Spec{
		Name:     "system_monitor",
		Category: "system",
		Description: "Reports the host's CPU, memory and disk figures and this process's own. CPU usage is sampled from " +
			"/proc/stat over sample_ms (the call waits that long), load average comes from /proc/loadavg, memory from " +
			"/proc/meminfo (the host's, not a container's limit), disk from statfs, and the process figures from " +
			"/proc/self/status and the Go runtime. The cpu, memory and process figures need Linux's /proc: elsewhere, or " +
			"when /proc is not mounted, asking for them is an execution_error that says which file is missing. " +
			"Disk figures need no permission for the base folder; any other path must be readable under --allow-read.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "all", Enum: []string{"all", "cpu", "memory", "disk", "process"},
				Description: "which figures to report; all reports every section"},
			{Name: "path", Type: tools.String,
				Description: "disk and all: a file or folder whose file system to report; relative paths resolve against the base " +
					"folder, which is the default; any path other than the base folder must be readable under --allow-read"},
			{Name: "sample_ms", Type: tools.Integer, Default: int64(defaultSampleMS),
				Description: fmt.Sprintf("cpu and all: how long to sample /proc/stat for the usage figures, %d to %d ms, "+
					"or 0 to skip sampling (usage_percent and per_cpu_percent are then null and the call does not wait)",
					minSampleMS, maxSampleMS)},
		},
		Returns: "{operation, and the sections asked for: cpu, memory, disk, process}; " +
			"cpu: {cores (usable by this process), load_avg [1, 5, 15 min], usage_percent (all CPUs), per_cpu_percent [by CPU number], sample_ms}; " +
			"memory: {total, available, used (total - available), used_percent, free, buffers, cached, swap_total, swap_free, swap_used} in bytes; " +
			"disk: {path (resolved), total, free, available (to unprivileged users), used, used_percent (used / (used + available), as df), " +
			"inodes_total, inodes_free} in bytes; " +
			"process: {pid, rss, rss_peak (bytes), threads, goroutines, heap_alloc (bytes of heap objects, live and not yet swept), " +
			"heap_goal (heap size that triggers the next GC), go_memory (bytes the Go runtime has mapped), num_gc, open_fds, uptime_s}",
		Example: map[string]any{"operation": "memory"},
	}
}

// Monitor returns the system_monitor tool. Disk figures of a path
// other than the base folder need it to be readable under ps; a nil
// ps refuses disk figures.
func Monitor(ps *perm.Set) tools.Tool {
	return tools.New(systemMonitorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return monitorSystem(ctx, ps, p)
	})
}

func monitorSystem(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	op, _ := p.Get("operation")
	want := func(section string) bool { return op == "all" || op == section }
	if p.Has("path") && !want("disk") {
		return nil, tools.Invalid("parameter %q applies to operation disk and all, not %s", "path", op)
	}
	if p.Has("sample_ms") && !want("cpu") {
		return nil, tools.Invalid("parameter %q applies to operation cpu and all, not %s", "sample_ms", op)
	}
	sample := p.Int("sample_ms")
	if sample != 0 && (sample < minSampleMS || sample > maxSampleMS) {
		return nil, tools.Invalid("parameter %q: %d is out of range; want 0, or %d to %d", "sample_ms", sample, minSampleMS, maxSampleMS)
	}
	res := map[string]any{"operation": op}
	// The quick sections first, so a refused path or a missing /proc
	// fails before the cpu sample waits.
	if want("disk") {
		d, err := disk(ps, p)
		if err != nil {
			return nil, err
		}
		res["disk"] = d
	}
	if want("memory") {
		m, err := memory()
		if err != nil {
			return nil, err
		}
		res["memory"] = m
	}
	if want("process") {
		pr, err := process()
		if err != nil {
			return nil, err
		}
		res["process"] = pr
	}
	if want("cpu") {
		c, err := cpu(ctx, sample)
		if err != nil {
			return nil, err
		}
		res["cpu"] = c
	}
	return res, nil
}

// read reads a /proc file, failing with an error that says the
// figures need Linux's /proc when it is missing.
func read(section, name string) ([]byte, error) {
	path := proc + name
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, tools.Failed("%s figures come from %s, which this system (%s) does not have; they need Linux with /proc mounted",
				section, path, runtime.GOOS)
		}
		return nil, tools.Failed("%s: %v", section, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProcFile))
	if err != nil {
		return nil, tools.Failed("%s: read %s: %v", section, path, err)
	}
	return data, nil
}

func malformed(section, name string) error {
	return tools.Failed("%s: %s%s: unexpected format", section, proc, name)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func cpu(ctx context.Context, sampleMS int) (map[string]any, error) {
	data, err := read("cpu", loadavg)
	if err != nil {
		return nil, err
	}
	f := bytes.Fields(data)
	if len(f) < 3 {
		return nil, malformed("cpu", loadavg)
	}
	load := make([]any, 3)
	for i := range load {
		v, err := strconv.ParseFloat(string(f[i]), 64)
		if err != nil {
			return nil, malformed("cpu", loadavg)
		}
		load[i] = v
	}
	res := map[string]any{
		"cores": runtime.NumCPU(), "load_avg": load, "usage_percent": nil, "per_cpu_percent": nil, "sample_ms": sampleMS,
	}
	if sampleMS == 0 {
		return res, nil
	}
	first, err := cpuTimes()
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(time.Duration(sampleMS) * time.Millisecond)
	select {
	case <-ctx.Done():
		timer.Stop()
		return nil, fmt.Errorf("cpu sample: %w", ctxErr(ctx))
	case <-timer.C:
	}
	second, err := cpuTimes()
	if err != nil {
		return nil, err
	}
	all, ok := usage(first[0], second[0])
	if !ok {
		return nil, tools.Failed("cpu: %s%s did not advance in %d ms; try a longer sample_ms", proc, stat, sampleMS)
	}
	res["usage_percent"] = all
	// CPUs can go offline between the samples: pair them by number and
	// leave out any that is missing from either.
	per := make([]any, 0, len(second)-1)
	for _, b := range second[1:] {
		for _, a := range first[1:] {
			if a.id == b.id {
				if u, ok := usage(a, b); ok {
					per = append(per, u)
				} else {
					per = append(per, 0.0)
				}
				break
			}
		}
	}
	res["per_cpu_percent"] = per
	return res, nil
}

// times are one /proc/stat cpu line's clock ticks.
type times struct {
	id          int // -1 for the all-CPU line
	busy, total uint64
}

// usage returns the busy share of the ticks between a and b, in
// percent, and false when no tick elapsed.
func usage(a, b times) (float64, bool) {
	if b.total <= a.total {
		return 0, false
	}
	busy := float64(b.busy) - float64(a.busy)
	return round2(min(max(100*busy/float64(b.total-a.total), 0), 100)), true
}

// cpuTimes reads the cpu lines of /proc/stat: the all-CPU line
// first, then one per CPU.
func cpuTimes() ([]times, error) {
	data, err := read("cpu", stat)
	if err != nil {
		return nil, err
	}
	var out []times
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if !bytes.HasPrefix(line, []byte("cpu")) {
			continue
		}
		fields := bytes.Fields(line)
		// user nice system idle iowait irq softirq steal; guest time is
		// already counted in user and nice.
		if len(fields) < 5 {
			return nil, malformed("cpu", stat)
		}
		t := times{id: -1}
		if name := fields[0]; len(name) > 3 {
			n, err := strconv.Atoi(string(name[3:]))
			if err != nil {
				return nil, malformed("cpu", stat)
			}
			t.id = n
		}
		for i, s := range fields[1:min(len(fields), 9)] {
			v, err := strconv.ParseUint(string(s), 10, 64)
			if err != nil {
				return nil, malformed("cpu", stat)
			}
			t.total += v
			if i != 3 && i != 4 { // not idle or iowait
				t.busy += v
			}
		}
		out = append(out, t)
	}
	if len(out) == 0 || out[0].id != -1 {
		return nil, malformed("cpu", stat)
	}
	return out, nil
}

// parseFields parses "Key:  value [kB]" lines into bytes (or plain
// numbers), keeping only the keys in want.
func parseFields(data []byte, want map[string]*int64) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		dst, ok := want[string(key)]
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			v *= 1024
		}
		*dst = v
	}
}

func memory() (map[string]any, error) {
	data, err := read("memory", meminfo)
	if err != nil {
		return nil, err
	}
	total, free, avail, buffers, cached, swapTotal, swapFree := int64(-1), int64(-1), int64(-1), int64(0), int64(0), int64(0), int64(0)
	parseFields(data, map[string]*int64{
		"MemTotal": &total, "MemFree": &free, "MemAvailable": &avail, "Buffers": &buffers, "Cached": &cached,
		"SwapTotal": &swapTotal, "SwapFree": &swapFree,
	})
	if total <= 0 || free < 0 {
		return nil, malformed("memory", meminfo)
	}
	if avail < 0 {
		// Kernels before 3.14 have no MemAvailable: estimate it.
		avail = free + buffers + cached
	}
	avail = min(avail, total)
	return map[string]any{
		"total": total, "available": avail, "used": total - avail,
		"used_percent": round2(100 * float64(total-avail) / float64(total)),
		"free":         free, "buffers": buffers, "cached": cached,
		"swap_total": swapTotal, "swap_free": swapFree, "swap_used": max(swapTotal-swapFree, 0),
	}, nil
}

func disk(ps *perm.Set, p tools.Params) (map[string]any, error) {
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "disk: no file permissions are configured; allow a folder with --allow-read")
	}
	path, shown := ps.Base(), "the base folder"
	var st fsStat
	var err error
	if p.Has("path") {
		shown = p.String("path")
		path, st, err = diskAt(ps, shown)
		if err != nil {
			return nil, err
		}
	} else if st, err = statfs(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, tools.Errorf(tools.TypeNotFound, "parameter %q: %s does not exist", "path", shown)
		}
		return nil, tools.Failed("disk: statfs %s: %v", shown, err)
	}
	total := st.blocks * st.bsize
	free := min(st.bfree, st.blocks) * st.bsize
	avail := min(st.bavail, st.bfree, st.blocks) * st.bsize
	used := total - free
	pct := 0.0
	if used+avail > 0 {
		pct = round2(100 * float64(used) / float64(used+avail))
	}
	return map[string]any{
		"path": path, "total": int64(total), "free": int64(free), "available": int64(avail), "used": int64(used),
		"used_percent": pct, "inodes_total": int64(st.files), "inodes_free": int64(st.ffree),
	}, nil
}

// diskAt returns the figures of the file system holding path, read
// through a handle opened by the permission set (the folder, or the file),
// and the path's absolute form.
func diskAt(ps *perm.Set, path string) (string, fsStat, error) {
	l, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return "", fsStat{}, err
	}
	var f *os.File
	shown := l.Path()
	if d, err := l.OpenDir(); err == nil {
		f, err = d.Handle()
		shown = d.Path()
		d.Close()
		if err != nil {
			return "", fsStat{}, fileio.Err("path", path, err)
		}
	} else if errors.Is(err, syscall.ENOTDIR) {
		pf, err := l.Open()
		if err != nil {
			return "", fsStat{}, fileio.Err("path", path, err)
		}
		f, shown = pf.File, pf.Loc.Path()
	} else {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fsStat{}, tools.Errorf(tools.TypeNotFound, "parameter %q: %s does not exist", "path", path)
		}
		return "", fsStat{}, fileio.Err("path", path, err)
	}
	defer f.Close()
	st, err := fstatfs(f)
	if err != nil {
		return "", fsStat{}, tools.Failed("disk: statfs %s: %v", path, err)
	}
	return shown, st, nil
}

// fsStat is what statfs says of a file system, in blocks of bsize bytes.
type fsStat struct {
	bsize, blocks, bfree, bavail, files, ffree uint64
}

func process() (map[string]any, error) {
	data, err := read("process", status)
	if err != nil {
		return nil, err
	}
	rss, peak, threads := int64(-1), int64(-1), int64(-1)
	parseFields(data, map[string]*int64{"VmRSS": &rss, "VmHWM": &peak, "Threads": &threads})
	if rss < 0 || threads < 0 {
		return nil, malformed("process", status)
	}
	res := map[string]any{
		"pid": os.Getpid(), "rss": rss, "rss_peak": max(peak, rss), "threads": threads,
		"uptime_s": round2(time.Since(startTime).Seconds()),
	}
	res["heap_alloc"] = int64(procmem.HeapObjects())
	var samples [len(runtimeMetrics)]metrics.Sample
	for i, name := range runtimeMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples[:])
	for i, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return nil, tools.Failed("process: runtime metric %s is not available", s.Name)
		}
		res[metricKeys[i]] = int64(s.Value.Uint64())
	}
	n, err := countFDs()
	if err != nil {
		return nil, err
	}
	res["open_fds"] = n
	return res, nil
}

// countFDs counts this process's open descriptors, less the one it
// uses to read the list.
func countFDs() (int, error) {
	path := proc + fdDir
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, tools.Failed("process figures come from %s, which this system (%s) does not have; they need Linux with /proc mounted",
				path, runtime.GOOS)
		}
		return 0, tools.Failed("process: %v", err)
	}
	defer f.Close()
	n := 0
	for {
		names, err := f.Readdirnames(256)
		n += len(names)
		if err == io.EOF || len(names) == 0 {
			break
		}
		if err != nil {
			return 0, tools.Failed("process: read %s: %v", path, err)
		}
	}
	return max(n-1, 0), nil
}
