package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"spellhost/host/exitcode"
)

func TestWorkerUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--nats URL (or SPELLHOST_NATS_URL) is required"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--workers", "0"}, "--workers=0: want 1 to 10000"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--drain-timeout", "soon"}, "--drain-timeout=soon"},
		{[]string{"--nats", "nats://127.0.0.1:1", "extra"}, "worker takes no arguments"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--namespace", "a.b"}, "task namespace \"a.b\""},
	} {
		gs, _, errb := testState(t, nil)
		if code := Main(gs, append([]string{"worker"}, c.args...)); code != exitcode.Usage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	// Nothing listens there: the connection fails, exit 1.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	gs, _, errb := testState(t, map[string]string{natsURLEnv: "nats://" + addr})
	if code := Main(gs, []string{"worker"}); code != exitcode.Failure || !strings.Contains(errb.String(), "task store: connecting") {
		t.Errorf("no server: exit %d, stderr %q", code, errb.String())
	}
	for _, c := range [][]string{
		{"--task-backend", "disk"},
		{"--task-backend", "memory", "--data-dir", "x"},
		{"--nats", "nats://127.0.0.1:1", "--data-dir", "x"},
		{"--task-backend", "memory", "--task-workers", "0"},
		{"--nats-listen", "0.0.0.0:4222", "--data-dir", "x"}, // beyond loopback without SPELLHOST_NATS_TOKEN
		{"--data-dir", "tasks"},                              // inside the current folder, which tools read
		{"--nats-replicas", "0"},
	} {
		gs, _, errb := testState(t, nil)
		if code := Main(gs, append([]string{"serve", "--addr", "127.0.0.1:0"}, c...)); code != exitcode.Usage {
			t.Errorf("serve %v: exit %d, %s", c, code, errb.String())
		}
	}
}

// TestDistributed runs the shipped scripts/tasks-distributed.lua against
// real processes: spellhost serve keeping tasks in its embedded NATS
// server (listening for workers, running none itself), two spellhost
// worker processes, and spellhost run submitting the work. Then the
// server restarts on the same data folder and still knows the tasks.
func TestDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := filepath.Join(t.TempDir(), "spellhost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := l.Addr().String()
	l.Close()
	natsURL := "nats://" + natsAddr
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	startProc := func(args ...string) (*exec.Cmd, *lockedBuffer) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &stderr
	}
	waitLog := func(what string, log func() string, want string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if strings.Contains(log(), want) {
				return
			}
		}
		t.Fatalf("%s never logged %q:\n%s", what, want, log())
	}
	stop := func(what string, cmd *exec.Cmd, log func() string) {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, log())
		}
	}
	serveArgs := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--nats-listen", natsAddr, "--task-workers", "0"}
	srv, srvLog := startProc(serveArgs...)
	url := listening(t, srvLog.String)
	w1, w1Log := startProc("worker", "--nats", natsURL, "--workers", "3")
	w2, w2Log := startProc("worker", "--nats", natsURL, "--workers", "2")
	waitLog("worker 1", w1Log.String, "worker started")
	waitLog("worker 2", w2Log.String, "worker started")

	script, err := filepath.Abs("../../scripts/tasks-distributed.lua")
	if err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, bin, "run", script, "--", natsURL, "300", "2")
	run.Dir, run.Env = dir, env
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "✓ every worker took a share") || !strings.Contains(string(out), "worker ") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	// The server's /metrics shows both workers' slots.
	if code, m := call(t, "GET", url+"/metrics", "", ""); code != 200 || strings.Count(m, "\nspellhost_task_worker_slots{") != 2 {
		t.Fatalf("metrics: %d\n%s", code, m)
	}
	stop("worker 1", w1, w1Log.String)
	stop("worker 2", w2, w2Log.String)
	for _, log := range []string{w1Log.String(), w2Log.String()} {
		if !strings.Contains(log, "msg=stopped") {
			t.Fatalf("a worker did not drain:\n%s", log)
		}
	}

	// The server restarts: the run's tasks are still in its store.
	stop("serve", srv, srvLog.String)
	srv, srvLog = startProc(serveArgs...)
	url = listening(t, srvLog.String)
	code, body := call(t, "GET", url+"/v1/tasks?tag=run:distributed&page_size=1", "", "")
	if code != 200 || !strings.Contains(body, `"total":300`) || !strings.Contains(body, `"state":"succeeded"`) {
		t.Fatalf("after the restart: %d %s", code, body)
	}
	stop("serve", srv, srvLog.String)
}
