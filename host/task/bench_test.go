package task_test

import (
	"context"
	"runtime"
	"testing"

	"spellhost/host/task"
)

var noop task.Runner = func(context.Context, *task.Attempt) (any, error) { return nil, nil }

// BenchmarkSubmitWait submits no-op tasks in batches to two workers and
// waits for each batch: one op is one task submitted and completed.
func BenchmarkSubmitWait(b *testing.B) {
	m, err := task.New(task.Config{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const batch = 1000
	ids := make([]string, 0, batch)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		ids = ids[:0]
		for i := 0; i < batch && done+i < b.N; i++ {
			id, err := m.Submit(task.Spec{Name: "noop", Run: noop})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := m.WaitAll(ctx, ids); err != nil {
			b.Fatal(err)
		}
		done += len(ids)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkSubmitWaitSerial submits one no-op task and waits for it before
// the next: the round trip through a worker.
func BenchmarkSubmitWaitSerial(b *testing.B) {
	m, err := task.New(task.Config{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		id, err := m.Submit(task.Spec{Name: "noop", Run: noop})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkRetention runs 100,000 no-op tasks through a manager that keeps
// the latest 10,000 finished (the default); one op is the whole run. It
// reports the live heap the manager holds afterwards, in all and per
// retained task.
func BenchmarkRetention(b *testing.B) {
	const tasks, keep = 100_000, 10_000
	ctx := context.Background()
	b.ReportAllocs()
	var heap, retained float64
	for b.Loop() {
		before := liveHeap()
		m, err := task.New(task.Config{Workers: 2, MaxFinished: keep})
		if err != nil {
			b.Fatal(err)
		}
		var last string
		for i := range tasks {
			if last, err = m.Submit(task.Spec{Name: "noop", Run: noop, Tags: map[string]string{"run": "bench"}}); err != nil {
				b.Fatal(err)
			}
			if i%1000 == 999 {
				if _, err := m.Wait(ctx, last); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := m.Wait(ctx, last); err != nil {
			b.Fatal(err)
		}
		s := m.Stats()
		if s.Retained > keep || s.Submitted != tasks {
			b.Fatalf("stats %+v", s)
		}
		heap = float64(liveHeap() - before)
		retained = float64(s.Retained)
		runtime.KeepAlive(m)
		m.Close()
	}
	b.ReportMetric(heap/(1<<20), "heap-MiB")
	b.ReportMetric(heap/retained, "heap-B/retained")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
