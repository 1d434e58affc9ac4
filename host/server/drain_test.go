package server_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDrain: in-flight requests finish, new ones get 503 with Connection:
// close, /readyz turns 503 while /healthz stays 200, tasks end cancelled
// with the shutdown's cause and their event streams say so, then the
// listener closes.
func TestDrain(t *testing.T) {
	ts := start(t, nil)
	inflight := make(chan reply, 1)
	go func() {
		r, _ := ts.try("POST", "/v1/tools/gate/invoke", `{"gate": "d"}`)
		inflight <- r
	}()
	wait(t, ts.gates.started, "the in-flight request's tool")
	running := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "t1"}}`), 201, "").env.Result["task_id"].(string)
	wait(t, ts.gates.started, "a task")
	ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "t2"}}`), 201, "")
	wait(t, ts.gates.started, "a task")
	queued := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "t3"}}`), 201, "").env.Result["task_id"].(string)
	res, body := ts.stream(context.Background(), running)
	defer res.Body.Close()
	readEvents(t, body, func(ev string) bool { return strings.HasPrefix(ev, "state ") })
	// Wait-for-status on the queued task, from before the drain.
	waited := make(chan reply, 1)
	go func() {
		r, _ := ts.try("POST", "/v1/request", `{"command": "task_wait", "task_id": "`+queued+`", "timeout": "30s"}`)
		waited <- r
	}()
	ts.waitInFlight(3) // the invoke, the stream, the wait

	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		drained <- ts.srv.Drain(ctx)
	}()
	for ts.do("GET", "/readyz", "").status != 503 {
		time.Sleep(time.Millisecond)
	}
	r := ts.must(ts.do("GET", "/v1/tools", ""), 503, "unavailable")
	if !r.close || r.header.Get("Retry-After") == "" {
		t.Fatalf("a request during the drain: %v", r.header)
	}
	if r := ts.do("GET", "/healthz", ""); r.status != 200 || !strings.Contains(string(r.body), `"draining":true`) {
		t.Fatalf("healthz during the drain: %d %s", r.status, r.body)
	}
	// The stream sees its task end cancelled with the cause.
	evs := readEvents(t, body, nil)
	last := evs[len(evs)-1]
	if !strings.HasPrefix(last, "end ") || !strings.Contains(last, `"state":"cancelled"`) || !strings.Contains(last, "cancelled: server shutting down") {
		t.Fatalf("stream: %q", evs)
	}
	if r := wait(t, waited, "task_wait"); r.status != 200 || r.env.Result["state"] != "cancelled" {
		t.Fatalf("task_wait across the drain: %d %s", r.status, r.body)
	}
	// The in-flight request still finishes.
	select {
	case err := <-drained:
		t.Fatalf("the drain ended with a request in flight: %v", err)
	default:
	}
	ts.gates.release("d")
	if r := wait(t, inflight, "the in-flight request"); r.status != 200 || r.env.Result["passed"] != "d" {
		t.Fatalf("in-flight request: %d %s", r.status, r.body)
	}
	if err := wait(t, drained, "the drain"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.try("GET", "/healthz", ""); err == nil {
		t.Fatal("the listener still answers after the drain")
	}
	st, _ := ts.k.TaskStats()
	if st.Cancelled != 3 || !st.Balanced() || st.Running != 0 {
		t.Fatalf("tasks after the drain: %+v", st)
	}
}

// TestDrainOverrun: a request still in flight at the deadline has its
// connection closed, and Drain says so.
func TestDrainOverrun(t *testing.T) {
	ts := start(t, nil)
	inflight := make(chan error, 1)
	go func() {
		_, err := ts.try("POST", "/v1/tools/gate/invoke", `{"gate": "stuck"}`)
		inflight <- err
	}()
	wait(t, ts.gates.started, "the tool")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := ts.srv.Drain(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 requests still in flight") {
		t.Fatalf("drain: %v", err)
	}
	if err := wait(t, inflight, "the cut request"); err == nil {
		t.Fatal("the cut request got an answer")
	}
	if got := wait(t, ts.gates.ended, "the tool to see its client gone"); got != "stuck:cancelled" {
		t.Fatalf("tool ended %s", got)
	}
}
