package durable_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"spellhost/host/task"
	"spellhost/host/task/durable"
)

// benchSlots is each benchmark worker process's --workers.
const benchSlots = 64

// BenchmarkTwoWorkerProcesses runs no-op tasks (Work of kind "noop")
// through a kernel queue on an embedded server (file storage, listening on
// loopback) and two worker processes of benchSlots each; 64 goroutines
// submit. One op is one task submitted and finished. It reports tasks/s
// and the submit-to-start latency (p50, p99) from the tasks' statuses.
func BenchmarkTwoWorkerProcesses(b *testing.B) {
	dir := b.TempDir()
	e, err := durable.Embed(durable.EmbedOptions{Dir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ns := "bench" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	q, err := durable.New(context.Background(), nc, durable.Config{Namespace: ns, NoLocalWorkers: true,
		Config: task.Config{QueueCap: 1 << 20, MaxFinished: 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for range 2 {
		p := start(b, fmt.Sprintf("bench-worker %s %s %d", e.URL(), ns, benchSlots))
		p.line(b, "ready")
	}
	spec := task.Spec{Name: "noop", Work: &task.Work{Kind: "noop", Body: nil}}
	const submitters = 64
	ids := make([]string, b.N)
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := g; i < b.N; i += submitters {
				id, err := q.Submit(spec)
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	submitted := b.Elapsed()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sts, err := q.WaitAll(ctx, ids)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(float64(b.N)/submitted.Seconds(), "submits/s")
	waits := make([]time.Duration, 0, len(sts))
	for _, st := range sts {
		if st.State != task.Succeeded {
			b.Fatalf("status %+v", st)
		}
		waits = append(waits, st.Started.Sub(st.Submitted))
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds()), "start-p50-µs")
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "start-p99-µs")
}

// BenchmarkStartLatency submits one no-op task at a time to two worker
// processes and waits for it before the next: the submit-to-start
// latency without a queue (p50, p99), and the whole round trip per op.
func BenchmarkStartLatency(b *testing.B) {
	e, err := durable.Embed(durable.EmbedOptions{Dir: b.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ns := "lat" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	q, err := durable.New(context.Background(), nc, durable.Config{Namespace: ns, NoLocalWorkers: true,
		Config: task.Config{MaxFinished: 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for range 2 {
		p := start(b, fmt.Sprintf("bench-worker %s %s %d", e.URL(), ns, 4))
		p.line(b, "ready")
	}
	spec := task.Spec{Name: "noop", Work: &task.Work{Kind: "noop"}}
	ctx := context.Background()
	var waits []time.Duration
	for b.Loop() {
		id, err := q.Submit(spec)
		if err != nil {
			b.Fatal(err)
		}
		st, err := q.Wait(ctx, id)
		if err != nil || st.State != task.Succeeded {
			b.Fatalf("%+v %v", st, err)
		}
		waits = append(waits, st.Started.Sub(st.Submitted))
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds()), "start-p50-µs")
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "start-p99-µs")
}

// BenchmarkRetention keeps 10,000 finished tasks in a kernel queue's view
// (the kernel's side; the records themselves are in the store) and
// reports the live heap they take, per task, against the in-process
// manager's BenchmarkRetention in package task.
func BenchmarkRetention(b *testing.B) {
	const keep = 10_000
	e, err := durable.Embed(durable.EmbedOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var heap float64
	for b.Loop() {
		q, err := durable.New(context.Background(), nc, durable.Config{Namespace: "retain" + strconv.Itoa(int(time.Now().UnixNano()%1e9)),
			Config:    task.Config{Workers: 8, MaxFinished: keep, QueueCap: 1 << 20},
			Executors: map[string]task.Executor{"noop": func(context.Context, *task.Attempt, []byte) (any, error) { return nil, nil }}})
		if err != nil {
			b.Fatal(err)
		}
		before := liveHeap()
		ids := make([]string, 0, keep)
		for range keep {
			id, err := q.Submit(task.Spec{Name: "noop", Tags: map[string]string{"run": "bench"}, Work: &task.Work{Kind: "noop"}})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if _, err := q.WaitAll(ctx, ids); err != nil {
			b.Fatal(err)
		}
		cancel()
		if s := q.Stats(); s.Retained != keep {
			b.Fatalf("stats %+v", s)
		}
		heap = float64(liveHeap() - before)
		runtime.KeepAlive(q)
		q.Close()
	}
	b.ReportMetric(heap/(1<<20), "heap-MiB")
	b.ReportMetric(heap/keep, "heap-B/retained")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchWorker is the "bench-worker URL NS SLOTS" child: a worker whose
// "noop" work returns at once.
func benchWorker(url, ns string, slots int) int {
	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer nc.Close()
	w, err := durable.NewWorker(context.Background(), nc, durable.WorkerConfig{Namespace: ns, Workers: slots,
		Executors: map[string]task.Executor{"noop": func(context.Context, *task.Attempt, []byte) (any, error) { return nil, nil }}})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	waitTerm()
	w.Close()
	return 0
}
