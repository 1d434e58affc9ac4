package kernel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/tools"
)

func taskKernel(t *testing.T, cfg task.Config) (*kernel.Kernel, *fault.Set) {
	t.Helper()
	reg, err := tools.NewRegistry(testTools()...)
	if err != nil {
		t.Fatal(err)
	}
	fs := fault.New(1)
	k := kernel.New(reg, kernel.Options{Faults: fs, Tasks: cfg})
	t.Cleanup(func() { k.Close(); fs.Close() })
	return k, fs
}

// do sends a JSON request and decodes the reply into a generic map.
func do(t *testing.T, k *kernel.Kernel, req string) map[string]any {
	t.Helper()
	var rep map[string]any
	if err := json.Unmarshal(k.DoJSON(context.Background(), []byte(req)), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func result(t *testing.T, rep map[string]any) map[string]any {
	t.Helper()
	if rep["status"] != "ok" {
		t.Fatalf("reply %v", rep)
	}
	return rep["result"].(map[string]any)
}

func TestTaskProtocol(t *testing.T) {
	k, _ := taskKernel(t, task.Config{Workers: 2})
	id := result(t, do(t, k, `{"command":"task_submit","name":"calculator","params":{"input":"6*7"},"tags":{"suite":"p"}}`))["task_id"].(string)
	st := result(t, do(t, k, `{"command":"task_wait","task_id":"`+id+`","timeout":"5s"}`))
	if st["state"] != "succeeded" || st["result"].(map[string]any)["result"] != 42.0 || st["attempts"] != 1.0 {
		t.Fatalf("wait: %v", st)
	}
	st = result(t, do(t, k, `{"command":"task_status","task_id":"`+id+`"}`))
	if st["id"] != id || st["name"] != "calculator" {
		t.Fatalf("status: %v", st)
	}
	fid := result(t, do(t, k, `{"command":"task_submit","name":"failer","retries":2,"backoff":"1ms"}`))["task_id"].(string)
	st = result(t, do(t, k, `{"command":"task_wait","task_id":"`+fid+`"}`))
	if st["state"] != "failed" || st["attempts"] != 3.0 || st["error"].(map[string]any)["type"] != "execution_error" {
		t.Fatalf("failer: %v", st)
	}
	page := result(t, do(t, k, `{"command":"task_list","state":"succeeded","tag":"suite:p"}`))
	if page["total"] != 1.0 || len(page["tasks"].([]any)) != 1 {
		t.Fatalf("list: %v", page)
	}
	stats := result(t, do(t, k, `{"command":"task_stats"}`))
	if stats["submitted"] != 2.0 || stats["succeeded"] != 1.0 || stats["failed"] != 1.0 || stats["retries"] != 2.0 {
		t.Fatalf("stats: %v", stats)
	}
	h := k.Health()
	if h["tasks_queued"] != 0 || h["tasks_running"] != 0 {
		t.Fatalf("health %v", h)
	}
}

func TestTaskCancelWhileRunning(t *testing.T) {
	k, _ := taskKernel(t, task.Config{Workers: 1})
	id := result(t, do(t, k, `{"command":"task_submit","name":"sleeper","params":{"ms":60000}}`))["task_id"].(string)
	for {
		if result(t, do(t, k, `{"command":"task_status","task_id":"`+id+`"}`))["state"] == "running" {
			break
		}
	}
	result(t, do(t, k, `{"command":"task_cancel","task_id":"`+id+`"}`))
	st := result(t, do(t, k, `{"command":"task_wait","task_id":"`+id+`"}`))
	if st["state"] != "cancelled" {
		t.Fatalf("cancelled running task: %v", st)
	}
}

func TestTaskFaultsAndQueueFull(t *testing.T) {
	k, fs := taskKernel(t, task.Config{Workers: 1, QueueCap: 1})
	fs.EnableText("task:calc*", "error(flaky)")
	id := result(t, do(t, k, `{"command":"task_submit","name":"calculator","params":{"input":"1"}}`))["task_id"].(string)
	st := result(t, do(t, k, `{"command":"task_wait","task_id":"`+id+`"}`))
	if st["state"] != "failed" || st["error"].(map[string]any)["type"] != "injected" {
		t.Fatalf("injected task failure: %v", st)
	}
	fs.Reset()
	// One running (the worker holds it) and one queued fill the queue.
	do(t, k, `{"command":"task_submit","name":"sleeper","params":{"ms":60000}}`)
	for k.Health()["tasks_running"] != 1 {
	}
	do(t, k, `{"command":"task_submit","name":"sleeper","params":{"ms":60000}}`)
	rep := do(t, k, `{"command":"task_submit","name":"sleeper","params":{"ms":1}}`)
	if e := rep["error"].(map[string]any); e["type"] != "queue_full" || !strings.Contains(e["message"].(string), "options.tasks.queue") {
		t.Fatalf("queue full: %v", rep)
	}
}

func TestTaskBadRequests(t *testing.T) {
	k, _ := taskKernel(t, task.Config{})
	cases := []struct{ req, typ, msg string }{
		{`{"command":"task_submit"}`, "validation_error", `missing field "name"`},
		{`{"command":"task_submit","name":"nope"}`, "not_found", "nope"},
		{`{"command":"task_submit","name":"calculator","retries":-1}`, "validation_error", "retries"},
		{`{"command":"task_submit","name":"calculator","retries":"x"}`, "validation_error", "retries"},
		{`{"command":"task_submit","name":"calculator","budget":-5}`, "validation_error", "budget"},
		{`{"command":"task_status"}`, "validation_error", `missing field "task_id"`},
		{`{"command":"task_status","task_id":"t-999999"}`, "not_found", "t-999999"},
		{`{"command":"task_wait","task_id":"t-999999"}`, "not_found", "t-999999"},
		{`{"command":"task_cancel","task_id":7}`, "validation_error", "task_id"},
		{`{"command":"task_list","state":"sleeping"}`, "validation_error", "sleeping"},
		{`{"command":"task_list","limit":5000}`, "validation_error", "limit"},
		{`{"command":"task_stats","task_id":"t-1"}`, "validation_error", `field "task_id" does not apply`},
		{`{"command":"list","retries":2}`, "validation_error", `field "retries" does not apply`},
	}
	for _, c := range cases {
		rep := do(t, k, c.req)
		e, _ := rep["error"].(map[string]any)
		if e == nil || e["type"] != c.typ || !strings.Contains(e["message"].(string), c.msg) {
			t.Errorf("%s: %v, want %s containing %q", c.req, rep, c.typ, c.msg)
		}
	}
	k.Close()
	if rep := do(t, k, `{"command":"task_stats"}`); rep["status"] != "error" {
		t.Fatalf("task_stats after Close: %v", rep)
	}
}

// BenchmarkToolTasks submits tasks that invoke a no-op tool through the
// kernel and waits for them, with 2 workers: tasks per second submitted
// and completed (target: at least 50,000).
func BenchmarkToolTasks(b *testing.B) {
	reg, err := tools.NewRegistry(tools.New(tools.Spec{Name: "noop", Category: "test", Description: "does nothing"},
		func(context.Context, tools.Params) (any, error) { return map[string]any{}, nil }))
	if err != nil {
		b.Fatal(err)
	}
	k := kernel.New(reg, kernel.Options{Tasks: task.Config{Workers: 2, QueueCap: 1 << 20, MaxFinished: 1000}})
	defer k.Close()
	m, err := k.Tasks()
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	ids := make([]string, 0, batch)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		id, err := m.Submit(k.ToolTask("noop", nil))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
		n++
		if len(ids) == batch {
			if _, err := m.WaitAll(context.Background(), ids); err != nil {
				b.Fatal(err)
			}
			ids = ids[:0]
		}
	}
	if _, err := m.WaitAll(context.Background(), ids); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tasks/s")
}
