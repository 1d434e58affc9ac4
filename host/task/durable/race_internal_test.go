package durable

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"spellhost/host/task"
)

// TestRacingWorkers: every task's message is in the stream twice (as a
// retried publish would leave it), and two workers take them at once.
// Both race to claim each task; the compare-and-set on the record lets one
// win, so each task runs once and reaches exactly one terminal state.
func TestRacingWorkers(t *testing.T) {
	e, err := Embed(EmbedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	q, err := New(context.Background(), nc, Config{Namespace: "race", NoLocalWorkers: true, Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()

	var mu sync.Mutex
	runs := map[string]int{}
	exec := func(_ context.Context, a *task.Attempt, _ []byte) (any, error) {
		mu.Lock()
		runs[a.ID()]++
		mu.Unlock()
		return "ran", nil
	}
	const tasks = 200
	var ids []string
	for range tasks {
		id, err := q.Submit(task.Spec{Name: "race", Work: &task.Work{Kind: "race", Body: map[string]any{}}})
		if err != nil {
			t.Fatal(err)
		}
		dup, _ := json.Marshal(message{ID: id, Kind: "race", Body: json.RawMessage(`{}`)})
		if _, err := q.st.js.Publish(context.Background(), q.st.n.subject("mid", ""), dup); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var ws []*Worker
	for range 2 {
		nc, err := e.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		w, err := NewWorker(context.Background(), nc, WorkerConfig{Namespace: "race", Workers: 8,
			Executors: map[string]task.Executor{"race": exec}})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sts, err := q.WaitAll(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		w.Close()
	}
	for _, st := range sts {
		if st.State != task.Succeeded {
			t.Fatalf("status %+v", st)
		}
		h, err := q.History(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range h {
			if ev.State == task.Running {
				n++
			}
		}
		if runs[st.ID] != 1 || n != 1 {
			t.Fatalf("%s ran %d times, its history shows %d starts: %+v", st.ID, runs[st.ID], n, h)
		}
	}
	// Every message, the duplicates too, has left the work queue.
	info, err := q.st.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%d messages left in the stream", info.State.Msgs)
	}
	if s := q.Stats(); s.Succeeded != tasks || !s.Balanced() {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("workers done: %d and %d", ws[0].done.Load(), ws[1].done.Load())
}
