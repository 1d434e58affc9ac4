package durable_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/tools"
)

// ledger counts, per task, the attempts an executor started and those it
// finished with success, across every worker of a test.
type ledger struct {
	mu        sync.Mutex
	started   map[string]int
	succeeded map[string]int
	starts    chan string
}

func newLedger() *ledger {
	return &ledger{started: map[string]int{}, succeeded: map[string]int{}, starts: make(chan string, 1024)}
}

// sleepBody is the body of the tests' "sleep" work.
type sleepBody struct {
	MS int `json:"ms"`
}

// executor returns a "sleep" executor that records into l; block, when
// set, holds every attempt until it is closed or the attempt ends.
func (l *ledger) executor(block <-chan struct{}) task.Executor {
	return func(ctx context.Context, a *task.Attempt, body []byte) (any, error) {
		var b sleepBody
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, tools.Invalid("sleep: %v", err)
		}
		l.mu.Lock()
		l.started[a.ID()]++
		l.mu.Unlock()
		l.starts <- a.ID()
		t := time.NewTimer(time.Duration(b.MS) * time.Millisecond)
		defer t.Stop()
		if block != nil {
			select {
			case <-block:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		l.mu.Lock()
		l.succeeded[a.ID()]++
		l.mu.Unlock()
		return "slept", nil
	}
}

func sleepSpec(ms int) task.Spec {
	return task.Spec{Name: "sleep", Work: &task.Work{Kind: "sleep", Body: sleepBody{MS: ms}}}
}

func (l *ledger) waitStart(t *testing.T) string {
	t.Helper()
	select {
	case id := <-l.starts:
		return id
	case <-time.After(time.Minute):
		t.Fatal("no attempt started")
		return ""
	}
}

// checkOnce checks that every task succeeded exactly once.
func (l *ledger) checkOnce(t *testing.T, ids []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if n := l.succeeded[id]; n != 1 {
			t.Errorf("%s ran to success %d times (%d attempts started)", id, n, l.started[id])
		}
	}
}

// checkHistory checks that a task's history in the bucket tells its life
// from queued to the state it ended in, each attempt starting from
// queued, retrying or a lost worker.
func checkHistory(t *testing.T, q *durable.Queue, id string, end task.State) []durable.Transition {
	t.Helper()
	h, err := q.History(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 2 || h[0].State != task.Queued || h[len(h)-1].State != end {
		t.Fatalf("%s: history %+v, want queued ... %s", id, h, end)
	}
	terminal := 0
	for i, ev := range h {
		if ev.State.Terminal() {
			terminal++
		}
		if i > 0 && ev.At.Before(h[i-1].At) {
			t.Errorf("%s: history goes back in time at %d: %+v", id, i, h)
		}
	}
	if terminal != 1 {
		t.Fatalf("%s: %d terminal states in %+v", id, terminal, h)
	}
	return h
}

func waitAll(t *testing.T, q task.Queue, ids []string) []task.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sts, err := q.WaitAll(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// TestWorkerLost: a worker dies mid-attempt (its connection is cut, so
// it neither heartbeats nor acks); after the lease another worker runs
// the task, which succeeds once, and its history names the lost worker.
func TestWorkerLost(t *testing.T) {
	e := embed(t, "")
	ns := namespace()
	q, err := durable.New(context.Background(), connect(t, e), durable.Config{Namespace: ns, Lease: testLease, NoLocalWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l := newLedger()
	block := make(chan struct{})
	defer close(block)
	ncA := connect(t, e)
	a, err := durable.NewWorker(context.Background(), ncA, durable.WorkerConfig{Namespace: ns, Workers: 1,
		Executors: map[string]task.Executor{"sleep": l.executor(block)}, DrainTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Submit(sleepSpec(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.waitStart(t); got != id {
		t.Fatalf("started %s, want %s", got, id)
	}
	ncA.Close() // worker A is gone: no heartbeat, no ack
	b, err := durable.NewWorker(context.Background(), connect(t, e), durable.WorkerConfig{Namespace: ns, Workers: 1,
		Executors: map[string]task.Executor{"sleep": l.executor(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st := waitAll(t, q, []string{id})[0]
	if st.State != task.Succeeded || st.Attempts != 1 {
		t.Fatalf("status %+v", st)
	}
	l.checkOnce(t, []string{id})
	h := checkHistory(t, q, id, task.Succeeded)
	lost := false
	for _, ev := range h {
		if ev.State == task.Running && ev.Worker == b.ID() && ev.Note == "worker lost: "+a.ID() {
			lost = true
		}
	}
	if !lost {
		t.Fatalf("history does not show %s taking over from %s: %+v", b.ID(), a.ID(), h)
	}
	a.Close()
}

// TestRestart: the kernel's process stops, once cleanly (its workers hand
// their attempts back) and once abruptly (the server goes down under
// them), with tasks queued and running; a new process on the same data
// folder finishes every task, none lost and none run twice to success.
func TestRestart(t *testing.T) {
	for _, abrupt := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "abrupt"}[abrupt]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLedger()
			block := make(chan struct{})
			cfg := durable.Config{Config: task.Config{Workers: 2}, Lease: testLease, DrainTimeout: time.Millisecond,
				Executors: map[string]task.Executor{"sleep": l.executor(block)}}

			e1, err := durable.Embed(durable.EmbedOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			nc1, err := e1.Connect()
			if err != nil {
				t.Fatal(err)
			}
			q1, err := durable.New(context.Background(), nc1, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for range 12 {
				id, err := q1.Submit(sleepSpec(1))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			l.waitStart(t)
			l.waitStart(t) // both workers hold a task; ten are queued
			if abrupt {
				e1.Shutdown() // the process dies: nothing is handed back
				nc1.Close()
				q1.Close()
			} else {
				q1.Close() // the attempts are cut short and handed back
				nc1.Close()
				e1.Shutdown()
			}
			close(block)

			e2 := embed(t, dir)
			cfg.Executors = map[string]task.Executor{"sleep": l.executor(nil)}
			q2, err := durable.New(context.Background(), connect(t, e2), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer q2.Close()
			for _, st := range waitAll(t, q2, ids) {
				if st.State != task.Succeeded {
					t.Fatalf("after the restart: %+v", st)
				}
			}
			l.checkOnce(t, ids)
			for _, id := range ids {
				checkHistory(t, q2, id, task.Succeeded)
			}
			if s := q2.Stats(); s.Submitted != int64(len(ids)) || s.Succeeded != int64(len(ids)) || !s.Balanced() {
				t.Fatalf("stats after the restart: %+v", s)
			}
		})
	}
}

// TestCancelReachesRemoteWorker: a task running on a worker of another
// connection ends cancelled when the kernel cancels it.
func TestCancelReachesRemoteWorker(t *testing.T) {
	e := embed(t, "")
	ns := namespace()
	q, err := durable.New(context.Background(), connect(t, e), durable.Config{Namespace: ns, Lease: testLease, NoLocalWorkers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l := newLedger()
	block := make(chan struct{})
	defer close(block)
	w, err := durable.NewWorker(context.Background(), connect(t, e), durable.WorkerConfig{Namespace: ns, Workers: 1,
		Executors: map[string]task.Executor{"sleep": l.executor(block)}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	id, err := q.Submit(sleepSpec(0))
	if err != nil {
		t.Fatal(err)
	}
	l.waitStart(t)
	if st, err := q.Cancel(id); err != nil || !st.CancelRequested {
		t.Fatalf("cancel: %+v %v", st, err)
	}
	st := waitAll(t, q, []string{id})[0]
	if st.State != task.Cancelled || st.Error.Type != tools.TypeCancelled {
		t.Fatalf("status %+v", st)
	}
	checkHistory(t, q, id, task.Cancelled)
	// A kernel with no workers of its own refuses a task only it could run.
	if _, err := q.Submit(task.Spec{Name: "fn", Run: func(context.Context, *task.Attempt) (any, error) { return nil, nil }}); tools.TypeOf(err) != tools.TypeValidation {
		t.Fatalf("submit a runner to a kernel without workers: %v", err)
	}
	if ws := q.Workers(); len(ws) == 0 {
		t.Log("no worker heartbeat yet") // the first is written within two seconds
	}
}
