package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/host/server"
)

func TestProbes(t *testing.T) {
	ts := start(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		// No key needed.
		r := ts.do("GET", path, "", "Authorization", "")
		if r.status != 200 || r.header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := ts.do("GET", "/readyz", ""); string(r.body) != `{"status":"ready"}` {
		t.Fatalf("readyz %s", r.body)
	}
}

func TestToolRoutes(t *testing.T) {
	ts := start(t, nil)
	r := ts.must(ts.do("GET", "/v1/tools", ""), 200, "")
	if n, _ := r.env.Result["count"].(float64); n < 30 || r.env.ID != r.header.Get("X-Request-Id") {
		t.Fatalf("list: %v tools, id %q header %q", r.env.Result["count"], r.env.ID, r.header.Get("X-Request-Id"))
	}
	r = ts.must(ts.do("GET", "/v1/tools?q=calc", ""), 200, "")
	if r.env.Result["query"] != "calc" || r.env.Result["count"].(float64) < 1 {
		t.Fatalf("search: %s", r.body)
	}
	r = ts.must(ts.do("GET", "/v1/tools?category=test", ""), 200, "")
	if r.env.Result["count"] != 1.0 {
		t.Fatalf("category: %s", r.body)
	}
	r = ts.must(ts.do("GET", "/v1/tools/calculator", ""), 200, "")
	if r.env.Result["name"] != "calculator" || r.env.Result["parameters"] == nil {
		t.Fatalf("info: %s", r.body)
	}
	ts.must(ts.do("GET", "/v1/tools/calculatr", ""), 404, "not_found")

	r = ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "2 + 3 * 4"}`), 200, "")
	if r.env.Result["result"] != 14.0 || r.env.Status != "ok" {
		t.Fatalf("invoke: %s", r.body)
	}
	r = ts.must(ts.do("POST", "/v1/tools/calculator/invoke?timeout=2s", `{"input": "1/0"}`), 422, "execution_error")
	if !strings.Contains(r.env.Error.Message, "division by zero") {
		t.Fatalf("invoke error: %s", r.body)
	}
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"nope": 1}`), 400, "validation_error")
	ts.must(ts.do("POST", "/v1/tools/nosuch/invoke", `{}`), 404, "not_found")
	ts.must(ts.do("POST", "/v1/tools/uuid_generator/invoke", ``), 200, "")

	// A tool timeout is 504, and the tool saw its context end.
	r = ts.must(ts.do("POST", "/v1/tools/gate/invoke?timeout=50ms", `{"gate": "never"}`), 504, "timeout")
	if got := wait(t, ts.gates.ended, "the gate tool to end"); got != "never:cancelled" {
		t.Fatalf("the tool ended %s", got)
	}
}

func TestProtocolRoute(t *testing.T) {
	ts := start(t, nil)
	r := ts.must(ts.do("POST", "/v1/request", `{"id": "7", "command": "invoke", "name": "calculator", "params": {"input": "6*7"}}`), 200, "")
	if r.env.ID != "7" || r.env.Result["result"] != 42.0 {
		t.Fatalf("invoke: %s", r.body)
	}
	r = ts.must(ts.do("POST", "/v1/request", `{"command": "health"}`), 200, "")
	if r.env.Result["status"] != "ok" {
		t.Fatalf("health: %s", r.body)
	}
	r = ts.must(ts.do("POST", "/v1/request", `{"id": "x", "command": "explode"}`), 404, "not_found")
	if r.env.ID != "x" {
		t.Fatalf("the error reply lost the id: %s", r.body)
	}
	ts.must(ts.do("POST", "/v1/request", `{"command": "list", "query": "x"}`), 400, "validation_error")
	ts.must(ts.do("POST", "/v1/request", `{"command": "task_wait", "task_id": "t-000404"}`), 404, "not_found")
	ts.must(ts.do("POST", "/v1/request", ``), 400, "validation_error")
	// A client's timeout cannot outlast the server's request timeout.
	ts2 := start(t, func(c *server.Config) { c.RequestTimeout = 100 * time.Millisecond })
	r = ts2.must(ts2.do("POST", "/v1/request", `{"command": "invoke", "name": "gate", "params": {"gate": "g"}, "timeout": "1h"}`), 504, "timeout")
	if !strings.Contains(r.env.Error.Message, "server: request: timed out after 100ms") {
		t.Fatalf("timeout names the wrong limit: %s", r.body)
	}
}

func TestTaskRoutes(t *testing.T) {
	ts := start(t, nil)
	r := ts.must(ts.do("POST", "/v1/tasks", `{"name": "calculator", "params": {"input": "1+1"}, "tags": {"team": "a"}}`), 201, "")
	id, _ := r.env.Result["task_id"].(string)
	if id == "" || r.header.Get("Location") != "/v1/tasks/"+id {
		t.Fatalf("submit: %s, Location %q", r.body, r.header.Get("Location"))
	}
	ts.must(ts.do("POST", "/v1/request", `{"command": "task_wait", "task_id": "`+id+`"}`), 200, "")
	r = ts.must(ts.do("GET", "/v1/tasks/"+id, ""), 200, "")
	if r.env.Result["state"] != "succeeded" || r.env.Result["result"].(map[string]any)["result"] != 2.0 {
		t.Fatalf("status: %s", r.body)
	}
	r = ts.must(ts.do("DELETE", "/v1/tasks/"+id, ""), 409, "conflict")
	if !strings.Contains(r.env.Error.Message, "already ended succeeded") {
		t.Fatalf("cancel of a finished task: %s", r.body)
	}

	// Two workers held by gates, then a queued task: cancelling it ends it
	// at once (200); cancelling a running one asks it to stop (202).
	run1 := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "a"}}`), 201, "").env.Result["task_id"].(string)
	ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "b"}}`), 201, "")
	wait(t, ts.gates.started, "a task to start")
	wait(t, ts.gates.started, "a task to start")
	queued := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "c"}}`), 201, "").env.Result["task_id"].(string)
	r = ts.must(ts.do("DELETE", "/v1/tasks/"+queued, ""), 200, "")
	if r.env.Result["state"] != "cancelled" {
		t.Fatalf("cancel queued: %s", r.body)
	}
	r = ts.must(ts.do("DELETE", "/v1/tasks/"+run1, ""), 202, "")
	if r.env.Result["state"] != "running" || r.env.Result["cancel_requested"] != true {
		t.Fatalf("cancel running: %s", r.body)
	}
	ts.gates.release("b")
	for range 2 {
		wait(t, ts.gates.ended, "the running tasks to end")
	}
	ts.must(ts.do("POST", "/v1/request", `{"command": "task_wait", "task_id": "`+run1+`"}`), 200, "")

	r = ts.must(ts.do("GET", "/v1/tasks?state=cancelled", ""), 200, "")
	if r.env.Result["total"] != 2.0 || r.env.Result["page"] != 1.0 {
		t.Fatalf("list cancelled: %s", r.body)
	}
	r = ts.must(ts.do("GET", "/v1/tasks?page=1&page_size=2", ""), 200, "")
	if len(r.env.Result["tasks"].([]any)) != 2 || r.env.Result["next_page"] != 2.0 {
		t.Fatalf("page 1: %s", r.body)
	}
	r = ts.must(ts.do("GET", "/v1/tasks?page=2&page_size=2&tag=team:a", ""), 200, "")
	if r.env.Result["total"] != 1.0 || len(r.env.Result["tasks"].([]any)) != 0 || r.env.Result["next_page"] != 0.0 {
		t.Fatalf("page 2 of a tag: %s", r.body)
	}
	ts.must(ts.do("GET", "/v1/tasks/t-999999", ""), 404, "not_found")
	ts.must(ts.do("DELETE", "/v1/tasks/t-999999", ""), 404, "not_found")
	ts.must(ts.do("POST", "/v1/tasks", `{"name": "nosuch"}`), 404, "not_found")
	ts.must(ts.do("POST", "/v1/tasks", `{"name": "calculator", "retries": 1000}`), 400, "validation_error")
}

func TestQueueFull(t *testing.T) {
	ts := start(t, nil) // 2 workers, a queue of 8
	for i := range 10 {
		ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "q"}}`), 201, "")
		if i < 2 {
			wait(t, ts.gates.started, "a worker")
		}
	}
	r := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "q"}}`), 503, "queue_full")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("queue_full without Retry-After: %v", r.header)
	}
	ts.gates.release("q")
}

// readEvents reads an event stream: each event as "name data", comments
// as ": text", until it closes.
func readEvents(t *testing.T, body *bufio.Reader, until func(ev string) bool) []string {
	t.Helper()
	var out []string
	var name, data string
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			return out
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, ":"):
			out = append(out, line)
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case line == "" && name != "":
			out = append(out, name+" "+data)
			name, data = "", ""
		}
		if len(out) > 0 && until != nil && until(out[len(out)-1]) {
			return out
		}
	}
}

func (ts *testServer) stream(ctx context.Context, id string) (*http.Response, *bufio.Reader) {
	ts.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/v1/tasks/"+id+"/events", nil)
	req.Header.Set("X-API-Key", bobKey)
	res, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		ts.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res, bufio.NewReader(res.Body)
}

func TestTaskEvents(t *testing.T) {
	ts := start(t, nil)
	id := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "e"}, "retries": 1}`), 201, "").env.Result["task_id"].(string)
	wait(t, ts.gates.started, "the task to start")
	res, body := ts.stream(context.Background(), id)
	defer res.Body.Close()
	// The current state at once, then heartbeats while nothing changes.
	evs := readEvents(t, body, func(ev string) bool { return strings.HasPrefix(ev, ": heartbeat") })
	if len(evs) != 2 || !strings.HasPrefix(evs[0], `state {`) || !strings.Contains(evs[0], `"state":"running"`) {
		t.Fatalf("events %q", evs)
	}
	ts.gates.release("e")
	evs = readEvents(t, body, nil) // to the end, when the server closes the stream
	var states, ends []string
	for _, ev := range evs {
		switch {
		case strings.HasPrefix(ev, "state "):
			states = append(states, ev)
		case strings.HasPrefix(ev, "end "):
			ends = append(ends, ev)
		}
	}
	if len(states) != 1 || !strings.Contains(states[0], `"state":"succeeded"`) || len(ends) != 1 || ends[0][4:] != states[0][6:] {
		t.Fatalf("after release: %q", evs)
	}

	// A finished task: its final state and the end at once.
	res2, body2 := ts.stream(context.Background(), id)
	defer res2.Body.Close()
	if evs := readEvents(t, body2, nil); len(evs) != 2 || !strings.HasPrefix(evs[1], "end ") {
		t.Fatalf("events of a finished task %q", evs)
	}
	ts.must(ts.do("GET", "/v1/tasks/t-000777/events", ""), 404, "not_found")
}

// TestTaskEventsClientLeaves: a client that goes away mid-stream ends its
// handler; goleak (TestMain) checks nothing is left behind.
func TestTaskEventsClientLeaves(t *testing.T) {
	ts := start(t, nil)
	id := ts.must(ts.do("POST", "/v1/tasks", `{"name": "gate", "params": {"gate": "l"}}`), 201, "").env.Result["task_id"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	res, body := ts.stream(ctx, id)
	readEvents(t, body, func(ev string) bool { return strings.HasPrefix(ev, "state ") })
	cancel()
	res.Body.Close()
	ts.waitInFlight(0)
	ts.gates.release("l")
}

// waitInFlight polls the in-flight gauge until it reads n (the deadline
// only catches hangs).
func (ts *testServer) waitInFlight(n int) {
	ts.t.Helper()
	want := "spellhost_http_requests_in_flight " + strconv.Itoa(n+1) // the scrape counts itself
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := ts.do("GET", "/metrics", "")
		if strings.Contains(string(r.body), "\n"+want+"\n") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	ts.t.Fatalf("in flight never came to %d", n)
}

func TestMetrics(t *testing.T) {
	ts := start(t, nil)
	ts.must(ts.do("GET", "/healthz", ""), 200, "")
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "1+1"}`), 200, "")
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "1/0"}`), 422, "execution_error")
	ts.must(ts.do("POST", "/v1/tools/nosuch/invoke", `{}`), 404, "not_found")
	ts.must(ts.do("GET", "/v1/nothing/here", ""), 404, "not_found")
	id := ts.must(ts.do("POST", "/v1/tasks", `{"name": "calculator", "params": {"input": "2"}}`), 201, "").env.Result["task_id"].(string)
	ts.must(ts.do("POST", "/v1/request", `{"command": "task_wait", "task_id": "`+id+`"}`), 200, "")
	r := ts.must(ts.do("GET", "/metrics", ""), 200, "")
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	m := string(r.body)
	for _, want := range []string{
		`spellhost_http_requests_total{code="200",route="GET /healthz"} 1`,
		`spellhost_http_requests_total{code="422",route="POST /v1/tools/{name}/invoke"} 1`,
		`spellhost_http_requests_total{code="404",route="unmatched"} 1`,
		`spellhost_http_request_duration_seconds_count{route="POST /v1/tools/{name}/invoke"} 3`,
		`spellhost_tool_calls_total{outcome="ok",tool="calculator"} 1`,
		`spellhost_tool_calls_total{outcome="execution_error",tool="calculator"} 1`,
		`spellhost_tasks_finished_total{state="succeeded"} 1`,
		`spellhost_tasks{state="running"} 0`,
		`spellhost_task_queue_depth 0`,
		`spellhost_task_queue_capacity 8`,
		`spellhost_kernel_tool_calls_total 3`,
		"process_resident_memory_bytes ",
		"go_goroutines ",
		"spellhost_heap_live_bytes ",
		"spellhost_http_requests_in_flight 1",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics miss %s", want)
		}
	}
	if strings.Contains(m, `tool="nosuch"`) {
		t.Error("a tool name not in the registry became a label")
	}
}
