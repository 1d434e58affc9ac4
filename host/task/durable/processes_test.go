package durable_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"spellhost/host/task"
	"spellhost/host/task/durable"
)

// roleEnv makes the test binary a child process: "natsd DIR" (a NATS
// server with JetStream on DIR, listening on a free loopback port, which it
// prints as "url URL") or "worker URL NS" (a task worker that prints
// "start ID" and "done ID" for each attempt of the "sleep" work).
const roleEnv = "SPELLHOST_DURABLE_TEST_ROLE"

// child runs a role until SIGTERM (or, for the server, stdin's end).
func child(role string) int {
	f := strings.Fields(role)
	if len(f) == 4 && f[0] == "bench-worker" {
		slots, _ := strconv.Atoi(f[3])
		return benchWorker(f[1], f[2], slots)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	switch {
	case len(f) == 2 && f[0] == "natsd":
		e, err := durable.Embed(durable.EmbedOptions{Dir: f[1], Listen: "127.0.0.1:0"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("url %s\n", e.URL())
		eof := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
		select {
		case <-stop:
		case <-eof:
		}
		e.Shutdown()
		return 0
	case len(f) == 3 && f[0] == "worker":
		nc, err := nats.Connect(f[1], nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer nc.Close()
		out := make(chan string, 1024)
		exec := func(ctx context.Context, a *task.Attempt, body []byte) (any, error) {
			out <- "start " + a.ID()
			t := time.NewTimer(200 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			out <- "done " + a.ID()
			return os.Getpid(), nil
		}
		w, err := durable.NewWorker(context.Background(), nc, durable.WorkerConfig{Namespace: f[2], Workers: 2,
			Executors: map[string]task.Executor{"sleep": exec}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for line := range out {
				fmt.Println(line)
			}
		}()
		fmt.Println("ready")
		<-stop
		w.Close()
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 2
}

// waitTerm waits for SIGTERM.
func waitTerm() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	<-stop
}

// proc is a child process and the lines it prints.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func start(t testing.TB, role string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 4096), stdin: stdin}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// line waits for the next line that starts with prefix.
func (p *proc) line(t testing.TB, prefix string) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("the process ended before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		case <-deadline:
			t.Fatalf("no line %q", prefix)
		}
	}
}

// kill ends the process with SIGKILL: no drain, no goodbye.
func (p *proc) kill(t *testing.T) {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// stop sends SIGTERM (the worker drains) and lists the "done" lines the
// process printed until it ended.
func (p *proc) stop(t *testing.T) (done []string) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	for l := range p.lines {
		if id, ok := strings.CutPrefix(l, "done "); ok {
			done = append(done, id)
		}
	}
	p.cmd.Wait()
	return done
}

// TestProcesses runs the whole arrangement as separate processes: a NATS
// server (this test binary as a server subprocess, on a data folder), the
// kernel's queue in this process over TCP, and two worker processes. One
// worker is killed with SIGKILL mid-attempt: its task comes back after the
// lease and succeeds once on the other. Then the server is killed with
// SIGKILL with tasks queued, restarted on the same folder, and a new
// worker finishes them: nothing lost, nothing run twice to success.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	srv := start(t, "natsd "+dir)
	url := srv.line(t, "url ")
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const ns = "procs"
	q, err := durable.New(context.Background(), nc, durable.Config{Namespace: ns, Lease: testLease, NoLocalWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	w1 := start(t, "worker "+url+" "+ns)
	w1.line(t, "ready")
	w2 := start(t, "worker "+url+" "+ns)
	w2.line(t, "ready")

	var ids []string
	for range 8 {
		id, err := q.Submit(sleepSpec(0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	killed := w1.line(t, "start ")
	w1.kill(t)
	for _, st := range waitAll(t, q, ids) {
		if st.State != task.Succeeded {
			t.Fatalf("status %+v", st)
		}
	}
	h := checkHistory(t, q, killed, task.Succeeded)
	if !strings.HasPrefix(h[len(h)-2].Note, "worker lost: ") {
		t.Fatalf("the killed worker's task: history %+v", h)
	}
	done := w2.stop(t)
	count := map[string]int{}
	for _, id := range done {
		count[id]++
	}
	if count[killed] != 1 {
		t.Fatalf("the killed worker's task %s ran to success %d times on the other", killed, count[killed])
	}
	q.Close()

	// Tasks queued with no worker; the server dies; they survive.
	q, err = durable.New(context.Background(), nc, durable.Config{Namespace: ns, Lease: testLease, NoLocalWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	var queued []string
	for range 6 {
		id, err := q.Submit(sleepSpec(0))
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, id)
	}
	q.Close()
	nc.Close()
	srv.kill(t)

	srv = start(t, "natsd "+dir)
	url = srv.line(t, "url ")
	nc2, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	q, err = durable.New(context.Background(), nc2, durable.Config{Namespace: ns, Lease: testLease, NoLocalWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, id := range ids {
		if st, err := q.Status(id); err != nil || st.State != task.Succeeded {
			t.Fatalf("%s after the server restarted: %+v %v", id, st, err)
		}
	}
	w3 := start(t, "worker "+url+" "+ns)
	w3.line(t, "ready")
	for _, st := range waitAll(t, q, queued) {
		if st.State != task.Succeeded {
			t.Fatalf("status %+v", st)
		}
	}
	count = map[string]int{}
	for _, id := range w3.stop(t) {
		count[id]++
	}
	for _, id := range queued {
		if count[id] != 1 {
			t.Fatalf("%s ran to success %d times", id, count[id])
		}
		checkHistory(t, q, id, task.Succeeded)
	}
	srv.stdin.Close()
	srv.cmd.Wait()
}
