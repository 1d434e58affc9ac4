package scenario

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/result"
	lualib "spellhost/lua"
	"spellhost/tools/perm"
)

// runWith runs inline source with cfg's hook, timeout and stdout.
func runWith(t *testing.T, ctx context.Context, src string, cfg Config) (*result.Run, error, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.lua")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	var errb bytes.Buffer
	cfg.Script, cfg.Perm, cfg.Registry, cfg.Seed, cfg.Lib, cfg.Stderr = path, p, builtinTools(p), 1, lualib.FS, &errb
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second // only catches a hang
	}
	res, err := Run(ctx, cfg)
	return res, err, errb.String()
}

const panicScript = `
options = {scenarios = {s = {executor = "per-vu-iterations", vus = 2, iterations = 3}}}
function setup() return {n = 1} end
function default(data) Metrics.counter("work"):add(1) end
function teardown() end
`

// TestPanicsAreReported: a Go panic anywhere in a run (the top level,
// setup, an iteration, teardown, a Lua call, a task worker) is reported
// with its stack, the run ends with exit 109, and the result is still
// there for the summary and the output files.
func TestPanicsAreReported(t *testing.T) {
	for _, point := range []string{"main", "setup", "iteration", "call", "teardown", "task"} {
		t.Run(point, func(t *testing.T) {
			src := panicScript
			if point == "task" {
				src = strings.Replace(src, `Metrics.counter("work"):add(1)`,
					`Metrics.counter("work"):add(1) Task.wait(Task.submit{fn = function() return 1 end}, 10)`, 1)
			}
			var once sync.Once
			cfg := Config{TestHook: func(p string) {
				if p == point {
					once.Do(func() { panic("deliberate panic at " + p) })
				}
			}}
			res, err, stderr := runWith(t, context.Background(), src, cfg)
			if code := exitcode.Of(err); code != exitcode.Panic {
				t.Fatalf("exit %d (%v), want %d\nstderr: %s", code, err, exitcode.Panic, stderr)
			}
			if !strings.Contains(err.Error(), "internal error (a bug in spellhost): deliberate panic at "+point) {
				t.Fatalf("error %q", err)
			}
			if !strings.Contains(stderr, "internal error (a bug in spellhost)") || !strings.Contains(stderr, "goroutine ") {
				t.Fatalf("no report with a stack on stderr:\n%s", stderr)
			}
			if res == nil || res.Status != "internal_error" || !strings.Contains(res.StopReason, "deliberate panic") {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// taskRow reads a row of the summary's tasks section.
func taskRow(t *testing.T, res *result.Run, name string) string {
	t.Helper()
	for _, s := range res.Sections {
		if s.Title != "tasks" {
			continue
		}
		for _, r := range s.Rows {
			if r[0] == name {
				return strings.Join(r[1:], " ")
			}
		}
	}
	t.Fatalf("no %q row in the tasks section: %+v", name, res.Sections)
	return ""
}

func taskCount(t *testing.T, res *result.Run, name string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.Fields(taskRow(t, res, name))[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTasksEndWithTheRun: tasks queued or running when a run ends, however
// it ends, are cancelled and counted: every task in exactly one terminal
// state.
func TestTasksEndWithTheRun(t *testing.T) {
	const submit = `
options = {tasks = {workers = 2}, scenarios = {s = {executor = "shared-iterations", vus = 1, iterations = 1}}}
function default()
  Task.wait(Task.submit{fn = function() return 1 end}, 10)
  for i = 1, 8 do Task.submit{fn = function() sleep(60) end} end
  while Task.stats().running < 2 do sleep(0.001) end
  print("submitted")
  ENDING
end
`
	cases := []struct {
		name, ending string
		timeout      time.Duration
		interrupt    bool
		code         exitcode.Code
	}{
		{"normal end", ``, 0, false, exitcode.OK},
		{"run timeout", `sleep(60)`, 2 * time.Second, false, exitcode.Timeout},
		{"interrupt", `sleep(60)`, 0, true, exitcode.Interrupted},
		{"abort", `abort("enough")`, 0, false, exitcode.ScriptAborted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			out := &lineWatcher{line: "submitted", fire: func() {
				if c.interrupt {
					cancel(Interrupted)
				}
			}}
			src := strings.Replace(submit, "ENDING", c.ending, 1)
			res, err, stderr := runWith(t, ctx, src, Config{Timeout: c.timeout, Stdout: out})
			if code := exitcode.Of(err); code != c.code {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, c.code, stderr)
			}
			submitted, succeeded := taskCount(t, res, "submitted"), taskCount(t, res, "succeeded")
			failed, timedOut, cancelled := taskCount(t, res, "failed"), taskCount(t, res, "timed out"), taskCount(t, res, "cancelled")
			if submitted != 9 || succeeded != 1 || cancelled != 8 || failed != 0 || timedOut != 0 {
				t.Fatalf("submitted %d succeeded %d failed %d timed out %d cancelled %d", submitted, succeeded, failed, timedOut, cancelled)
			}
			if live := taskRow(t, res, "still live"); live != "0 queued, 0 running, 0 retrying" {
				t.Fatalf("still live: %s", live)
			}
			if acc := taskRow(t, res, "accounting"); !strings.HasPrefix(acc, "balanced") {
				t.Fatalf("accounting: %s", acc)
			}
		})
	}
}

// lineWatcher calls fire once a written line equals line.
type lineWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line string
	fire func()
	done bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.line+"\n") {
		w.done = true
		go w.fire()
	}
	return len(p), nil
}

// TestWatchdogAfterTheRunsEnd: once the run's context ends, a VU stuck
// where no context reaches is abandoned within the watchdog's grace
// (at most 2s), not after the scenarios' gracefulStop (30s here).
func TestWatchdogAfterTheRunsEnd(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var once sync.Once
	cfg := Config{Timeout: 300 * time.Millisecond, TestHook: func(p string) {
		if p == "iteration" {
			once.Do(func() { <-block }) // stuck outside Lua: no context reaches it
		}
	}}
	start := time.Now()
	_, err, _ := runWith(t, context.Background(), `
options = {scenarios = {s = {executor = "constant-vus", vus = 1, duration = "1m", gracefulStop = "30s"}}}
function default() sleep(0.01) end`, cfg)
	took := time.Since(start)
	if exitcode.Of(err) != exitcode.Timeout || !strings.Contains(err.Error(), "watchdog") {
		t.Fatalf("err = %v", err)
	}
	if took > 20*time.Second {
		t.Fatalf("took %v: the watchdog waited for gracefulStop", took)
	}
	t.Logf("a VU stuck outside Lua was abandoned %v after the start of a run with a 300ms --timeout", took.Round(time.Millisecond))
}
