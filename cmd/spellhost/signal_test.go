package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"spellhost/host/exitcode"
)

// interruptScript runs until interrupted; its teardown takes a while, so a
// second interrupt can arrive while the run winds down.
const interruptScript = `
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "60s"}}}
local started = false
function default()
  if not started then started = true; print("ready") end
  Metrics.counter("work"):add(1)
  sleep(0.005)
end
function teardown() sleep(%s) end
`

// fakeClock returns the given times in turn, then the last one forever.
type fakeClock struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.times[0]
	if len(c.times) > 1 {
		c.times = c.times[1:]
	}
	return t
}

func readSummary(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary %s: %v", path, err)
	}
	return s
}

// TestRunSignalRepeated sends two interrupts back to back, as GNU timeout
// does for one Ctrl-C: they count as one, the run stops gracefully and
// its teardown finishes.
func TestRunSignalRepeated(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	gs, stdout, stderr := testState(t, nil)
	clk := &fakeClock{times: []time.Time{t0, t0.Add(time.Microsecond)}}
	gs.now = clk.now
	gs.notify = func(c chan<- os.Signal) {
		go func() { time.Sleep(300 * time.Millisecond); c <- os.Interrupt; c <- os.Interrupt }()
	}
	sum, rep := filepath.Join(dir, "s.json"), filepath.Join(dir, "r.md")
	code := Main(gs, []string{"run", "--summary-json", sum, "--report", rep, script(t, strings.Replace(interruptScript, "%s", "0.3", 1))})
	if code != exitcode.Interrupted || strings.Contains(stderr.String(), "interrupted twice") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	s := readSummary(t, sum)
	if s["status"] != "interrupted" || !strings.Contains(stdout.String(), "interrupted") {
		t.Fatalf("status %v, stdout %q", s["status"], stdout.String())
	}
	if b, err := os.ReadFile(rep); err != nil || !bytes.Contains(b, []byte("INTERRUPTED")) {
		t.Fatalf("report: %v %s", err, b)
	}
}

// TestRunSignalHardQuit sends a second interrupt more than a second after
// the first: spellhost quits at once, yet writes the summary files from
// what was recorded.
func TestRunSignalHardQuit(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	gs, _, stderr := testState(t, nil)
	gs.now = (&fakeClock{times: []time.Time{t0, t0.Add(2 * time.Second)}}).now
	gs.notify = func(c chan<- os.Signal) {
		go func() { time.Sleep(300 * time.Millisecond); c <- os.Interrupt; c <- os.Interrupt }()
	}
	sum, rep, out := filepath.Join(dir, "s.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "points.jsonl")
	code := Main(gs, []string{"run", "--summary-json", sum, "--report", rep, "--out", "json=" + out,
		script(t, strings.Replace(interruptScript, "%s", "0.5", 1))})
	if code != exitcode.Interrupted || !strings.Contains(stderr.String(), "interrupted twice") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	s := readSummary(t, sum)
	if s["status"] != "interrupted" || !strings.Contains(s["stop_reason"].(string), "interrupted twice") {
		t.Fatalf("summary status %v reason %v", s["status"], s["stop_reason"])
	}
	found := false
	for _, m := range s["metrics"].([]any) {
		found = found || m.(map[string]any)["name"] == "work"
	}
	if !found {
		t.Fatal("the summary lacks the script's metric recorded before the quit")
	}
	if b, err := os.ReadFile(rep); err != nil || !bytes.Contains(b, []byte("interrupted twice")) {
		t.Fatalf("report: %v %s", err, b)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

// TestRunSignalProcessGroup sends SIGINT twice to a real spellhost's
// process group within microseconds, as GNU timeout does, and checks the
// summary files are written every time.
func TestRunSignalProcessGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := builtBinary(t)
	t.Cleanup(removeAdvBin)
	dir := t.TempDir()
	quick, slow := filepath.Join(dir, "quick.lua"), filepath.Join(dir, "slow.lua")
	for p, teardown := range map[string]string{quick: "0.05", slow: "30"} {
		if err := os.WriteFile(p, []byte(strings.Replace(interruptScript, "%s", teardown, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signalRun := func(t *testing.T, p string, gap time.Duration, sum, rep string) (exitcode.Code, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "run", "--summary-json", sum, "--report", rep, p)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(outPipe)
		for sc.Scan() && sc.Text() != "ready" {
		}
		for i := range 2 {
			if i > 0 {
				time.Sleep(gap)
			}
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		}
		for sc.Scan() {
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("wait: %v, stderr %q", err, errb.String())
		}
		return exitcode.Code(ee.ExitCode()), errb.String()
	}
	for i := range 20 {
		sum, rep := filepath.Join(dir, "s.json"), filepath.Join(dir, "r.md")
		os.Remove(sum)
		os.Remove(rep)
		code, stderr := signalRun(t, quick, 0, sum, rep)
		if code != exitcode.Interrupted || strings.Contains(stderr, "interrupted twice") {
			t.Fatalf("run %d: exit %d, stderr %q", i, code, stderr)
		}
		if s := readSummary(t, sum); s["status"] != "interrupted" {
			t.Fatalf("run %d: status %v", i, s["status"])
		}
		if _, err := os.Stat(rep); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	// A second SIGINT after the repeat window, during a 30s teardown:
	// spellhost quits at once and still writes the files.
	sum, rep := filepath.Join(dir, "hard.json"), filepath.Join(dir, "hard.md")
	code, stderr := signalRun(t, slow, repeatedSignal+100*time.Millisecond, sum, rep)
	if code != exitcode.Interrupted || !strings.Contains(stderr, "interrupted twice") {
		t.Fatalf("hard quit: exit %d, stderr %q", code, stderr)
	}
	if s := readSummary(t, sum); s["status"] != "interrupted" {
		t.Fatalf("hard quit: status %v", s["status"])
	}
	if _, err := os.Stat(rep); err != nil {
		t.Fatal(err)
	}
}
