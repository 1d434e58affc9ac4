// Package tasktest is the invariant suite every task backend passes: one
// table of cases, run against the in-process manager and the durable
// backend alike, so both keep the same semantics.
package tasktest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

// Factory starts a backend with cfg for one case; the backend is closed
// by the case (Close is idempotent, so the factory may close it again in
// a cleanup).
type Factory func(t *testing.T, cfg task.Config) task.Queue

// Case is one invariant.
type Case struct {
	Name string
	Run  func(t *testing.T, f Factory)
}

// Run runs every case against the backend f starts.
func Run(t *testing.T, f Factory) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, f) })
	}
}

// hang bounds every wait of the suite: it catches a hang, it measures
// nothing.
const hang = 60 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

func submit(t *testing.T, q task.Queue, s task.Spec) string {
	t.Helper()
	id, err := q.Submit(s)
	if err != nil {
		t.Fatalf("submit %s: %v", s.Name, err)
	}
	return id
}

func wait(t *testing.T, q task.Queue, id string) task.Status {
	t.Helper()
	st, err := q.Wait(ctxT(t), id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return st
}

// gate is a runner that blocks until the gate opens (or its context
// ends), and says when it started.
type gate struct {
	started chan string
	open    chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 64), open: make(chan struct{})} }

func (g *gate) run(ctx context.Context, a *task.Attempt) (any, error) {
	g.started <- a.ID()
	select {
	case <-g.open:
		return "opened", nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (g *gate) waitStart(t *testing.T) string {
	t.Helper()
	select {
	case id := <-g.started:
		return id
	case <-time.After(hang):
		t.Fatal("no attempt started")
		return ""
	}
}

func ok(v any) task.Runner {
	return func(context.Context, *task.Attempt) (any, error) { return v, nil }
}

// balanced checks the counters once nothing is live.
func balanced(t *testing.T, q task.Queue) task.Stats {
	t.Helper()
	s := q.Stats()
	if !s.Balanced() {
		t.Fatalf("stats do not balance: %+v", s)
	}
	return s
}

// Cases are the invariants.
var Cases = []Case{
	{"succeeds with its result", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 2})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "ok", Run: ok("done"), Tags: map[string]string{"k": "v"}})
		st := wait(t, q, id)
		if st.State != task.Succeeded || st.Result != "done" || st.Attempts != 1 || st.Error != nil ||
			st.Tags["k"] != "v" || st.Started.IsZero() || st.Finished.Before(st.Submitted) {
			t.Fatalf("status %+v", st)
		}
		if s := balanced(t, q); s.Succeeded != 1 || s.Submitted != 1 {
			t.Fatalf("stats %+v", s)
		}
	}},
	{"retries with backoff then succeeds", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1, Seed: 7})
		defer q.Close()
		var calls atomic.Int32
		id := submit(t, q, task.Spec{Name: "flaky", Retries: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
			Run: func(_ context.Context, a *task.Attempt) (any, error) {
				calls.Add(1)
				if a.Number() < 3 {
					return nil, tools.Failed("flaky %d", a.Number())
				}
				return a.Number(), nil
			}})
		st := wait(t, q, id)
		if st.State != task.Succeeded || st.Attempts != 3 || calls.Load() != 3 {
			t.Fatalf("status %+v after %d calls", st, calls.Load())
		}
		if s := balanced(t, q); s.Retries != 2 {
			t.Fatalf("retries %d, want 2", s.Retries)
		}
	}},
	{"fails after its retries with the last error", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "broken", Retries: 2, Backoff: time.Millisecond,
			Run: func(context.Context, *task.Attempt) (any, error) { return nil, tools.Failed("broken") }})
		st := wait(t, q, id)
		if st.State != task.Failed || st.Attempts != 3 || st.Error == nil || st.Error.Type != tools.TypeExecution {
			t.Fatalf("status %+v", st)
		}
	}},
	{"no retry after a validation error", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "invalid", Retries: 3,
			Run: func(context.Context, *task.Attempt) (any, error) { return nil, tools.Invalid("bad") }})
		if st := wait(t, q, id); st.State != task.Failed || st.Attempts != 1 || st.Error.Type != tools.TypeValidation {
			t.Fatalf("status %+v", st)
		}
	}},
	{"an attempt over its timeout ends timed out", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "slow", Timeout: 20 * time.Millisecond,
			Run: func(ctx context.Context, _ *task.Attempt) (any, error) { <-ctx.Done(); return "late", nil }})
		st := wait(t, q, id)
		if st.State != task.TimedOut || st.Result != nil || st.Error == nil || st.Error.Type != tools.TypeTimeout {
			t.Fatalf("status %+v", st)
		}
	}},
	{"a panic fails the attempt as internal", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "panic", Run: func(context.Context, *task.Attempt) (any, error) { panic("boom") }})
		if st := wait(t, q, id); st.State != task.Failed || st.Error.Type != tools.TypeInternal {
			t.Fatalf("status %+v", st)
		}
	}},
	{"budget: cost and spend stop at the budget", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		id := submit(t, q, task.Spec{Name: "budget", Cost: 1, Budget: 2.5, Retries: 5, Backoff: time.Millisecond,
			Run: func(_ context.Context, a *task.Attempt) (any, error) {
				if err := a.Spend(0.25); err != nil {
					return nil, err
				}
				return nil, tools.Failed("again")
			}})
		st := wait(t, q, id)
		if st.State != task.Failed || st.Error.Type != task.TypeBudget || st.Attempts != 2 || st.Spent != 2.5 {
			t.Fatalf("status %+v", st)
		}
		id = submit(t, q, task.Spec{Name: "spend", Budget: 1,
			Run: func(_ context.Context, a *task.Attempt) (any, error) { return nil, a.Spend(2) }})
		if st := wait(t, q, id); st.State != task.Failed || st.Error.Type != task.TypeBudget || st.Attempts != 1 {
			t.Fatalf("status %+v", st)
		}
	}},
	{"cancel: queued at once, running when its attempt returns", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		g := newGate()
		running := submit(t, q, task.Spec{Name: "gate", Run: g.run})
		g.waitStart(t)
		queued := submit(t, q, task.Spec{Name: "queued", Run: ok(1)})
		st, err := q.Cancel(queued)
		if err != nil || st.State != task.Cancelled || st.Error.Type != tools.TypeCancelled {
			t.Fatalf("cancel queued: %+v %v", st, err)
		}
		st, err = q.Cancel(running)
		if err != nil || st.State != task.Running || !st.CancelRequested {
			t.Fatalf("cancel running: %+v %v", st, err)
		}
		if st := wait(t, q, running); st.State != task.Cancelled || st.Error.Type != tools.TypeCancelled {
			t.Fatalf("running task ended %+v", st)
		}
		if st, err := q.Cancel(running); err != nil || st.State != task.Cancelled {
			t.Fatalf("cancel again: %+v %v", st, err)
		}
		if s := balanced(t, q); s.Cancelled != 2 {
			t.Fatalf("stats %+v", s)
		}
	}},
	{"cancel during the retry backoff: no further attempt", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		var calls atomic.Int32
		failed := make(chan struct{}, 1)
		id := submit(t, q, task.Spec{Name: "backoff", Retries: 3, Backoff: time.Hour, MaxBackoff: time.Hour,
			Run: func(context.Context, *task.Attempt) (any, error) {
				calls.Add(1)
				failed <- struct{}{}
				return nil, tools.Failed("first")
			}})
		<-failed
		var st task.Status
		for st = wait0(t, q, id); st.State != task.Retrying; st = wait0(t, q, id) {
			if st.State.Terminal() {
				t.Fatalf("status %+v", st)
			}
			time.Sleep(time.Millisecond)
		}
		st, err := q.Cancel(id)
		if err != nil || st.State != task.Cancelled {
			t.Fatalf("cancel: %+v %v", st, err)
		}
		// Another task runs on the one worker; the cancelled one never again.
		if st := wait(t, q, submit(t, q, task.Spec{Name: "after", Run: ok(1)})); st.State != task.Succeeded {
			t.Fatalf("next task %+v", st)
		}
		if calls.Load() != 1 || wait(t, q, id).Attempts != 1 {
			t.Fatalf("%d attempts after the cancel", calls.Load())
		}
	}},
	{"a full queue answers queue_full and queues nothing", func(t *testing.T, f Factory) {
		const capacity = 3
		q := f(t, task.Config{Workers: 1, QueueCap: capacity})
		defer q.Close()
		g := newGate()
		ids := []string{submit(t, q, task.Spec{Name: "gate", Run: g.run})}
		g.waitStart(t)
		var err error
		for range capacity + 2 {
			var id string
			if id, err = q.Submit(task.Spec{Name: "fill", Run: ok(1)}); err != nil {
				break
			}
			ids = append(ids, id)
		}
		if !errors.Is(err, task.ErrQueueFull) || tools.TypeOf(err) != task.TypeQueueFull {
			t.Fatalf("submit past the capacity: %v", err)
		}
		// The capacity counts queued tasks (the durable backend's also the
		// running ones, whose messages stay until acknowledged).
		if n := len(ids) - 1; n < capacity-1 || n > capacity {
			t.Fatalf("%d queued before queue_full, capacity %d", n, capacity)
		}
		s := q.Stats()
		if s.Rejected != 1 || s.Submitted != int64(len(ids)) || !s.Balanced() {
			t.Fatalf("stats %+v", s)
		}
		close(g.open)
		for _, id := range ids {
			if st := wait(t, q, id); st.State != task.Succeeded {
				t.Fatalf("%s ended %+v", id, st)
			}
		}
	}},
	{"higher priority starts first", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		g := newGate()
		first := submit(t, q, task.Spec{Name: "gate", Run: g.run})
		g.waitStart(t)
		var mu sync.Mutex
		var order []string
		rec := func(name string) task.Runner {
			return func(context.Context, *task.Attempt) (any, error) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return nil, nil
			}
		}
		var ids []string
		for _, p := range []struct {
			name string
			prio int
		}{{"low", -1}, {"normal", 0}, {"high", 3}, {"normal2", 0}} {
			ids = append(ids, submit(t, q, task.Spec{Name: p.name, Priority: p.prio, Run: rec(p.name)}))
		}
		close(g.open)
		wait(t, q, first)
		for _, id := range ids {
			wait(t, q, id)
		}
		if want := []string{"high", "normal", "normal2", "low"}; !slices.Equal(order, want) {
			t.Fatalf("started %v, want %v", order, want)
		}
	}},
	{"list, filters and pages", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 2})
		defer q.Close()
		var ids []string
		for i := range 7 {
			ids = append(ids, submit(t, q, task.Spec{Name: "t", Run: ok(i), Tags: map[string]string{"group": fmt.Sprint(i % 2)}}))
		}
		if _, err := q.WaitAll(ctxT(t), ids); err != nil {
			t.Fatal(err)
		}
		p, err := q.List(task.Filter{Tag: "group:1", Limit: 2})
		if err != nil || p.Total != 3 || len(p.Tasks) != 2 || p.Next != 2 || p.Tasks[0].ID != ids[1] || p.Tasks[1].ID != ids[3] {
			t.Fatalf("page %+v %v", p, err)
		}
		p, err = q.List(task.Filter{State: "succeeded", Offset: 6})
		if err != nil || p.Total != 7 || len(p.Tasks) != 1 || p.Next != -1 || p.Tasks[0].ID != ids[6] {
			t.Fatalf("page %+v %v", p, err)
		}
		for _, bad := range []task.Filter{{State: "done"}, {Tag: "nocolon"}, {Offset: -1}, {Limit: task.MaxListLimit + 1}} {
			if _, err := q.List(bad); tools.TypeOf(err) != tools.TypeValidation {
				t.Errorf("List(%+v): %v, want a validation error", bad, err)
			}
		}
	}},
	{"unknown ids and bad specs", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		if _, err := q.Status("t-999999"); tools.TypeOf(err) != tools.TypeNotFound {
			t.Errorf("status: %v", err)
		}
		if _, err := q.Cancel("nope"); tools.TypeOf(err) != tools.TypeNotFound {
			t.Errorf("cancel: %v", err)
		}
		if _, err := q.Wait(ctxT(t), "t-999999"); tools.TypeOf(err) != tools.TypeNotFound {
			t.Errorf("wait: %v", err)
		}
		for _, s := range []task.Spec{{Name: "none"}, {Name: "neg", Run: ok(1), Retries: -1},
			{Name: "budget", Run: ok(1), Budget: -1}, {Name: "tag", Run: ok(1), Tags: map[string]string{"a:b": "c"}}} {
			if _, err := q.Submit(s); tools.TypeOf(err) != tools.TypeValidation {
				t.Errorf("submit %s: %v, want validation_error", s.Name, err)
			}
		}
	}},
	{"wait ends with the context, keeping its cause", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		g := newGate()
		id := submit(t, q, task.Spec{Name: "gate", Run: g.run})
		g.waitStart(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		st, err := q.Wait(ctx, id)
		if tools.TypeOf(err) != tools.TypeTimeout || st.State != task.Running {
			t.Fatalf("wait: %+v %v", st, err)
		}
		close(g.open)
		wait(t, q, id)
	}},
	{"watch sees each state and ends with the final one", func(t *testing.T, f Factory) {
		q := f(t, task.Config{Workers: 1})
		defer q.Close()
		g := newGate()
		id := submit(t, q, task.Spec{Name: "gate", Run: g.run})
		ch, stop, err := q.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		g.waitStart(t)
		close(g.open)
		var last task.Status
		n := 0
		timeout := time.After(hang)
		for open := true; open; {
			select {
			case st, more := <-ch:
				if more {
					last, n = st, n+1
				}
				open = more
			case <-timeout:
				t.Fatal("watch did not end")
			}
		}
		if last.State != task.Succeeded || n < 2 {
			t.Fatalf("watch ended after %d statuses with %+v", n, last)
		}
	}},
	{"the rate limit makes attempts wait for a token", func(t *testing.T, f Factory) {
		// 600 attempts a minute, one at a time: six tasks cannot all
		// start at once, so some wait; none is lost.
		q := f(t, task.Config{Workers: 2, RatePerMinute: 600, Burst: 1})
		defer q.Close()
		var ids []string
		for i := range 6 {
			ids = append(ids, submit(t, q, task.Spec{Name: "limited", Run: ok(i)}))
		}
		sts, err := q.WaitAll(ctxT(t), ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if st.State != task.Succeeded {
				t.Fatalf("status %+v", st)
			}
		}
		if s := balanced(t, q); s.RateLimitWaits < 1 || s.RateLimitWait <= 0 {
			t.Fatalf("no rate-limit wait: %+v", s)
		}
	}},
	{"seeded mix: every task ends in exactly one state", func(t *testing.T, f Factory) { mix(t, f, 1, false) }},
	{"seeded mix, closed with work in flight", func(t *testing.T, f Factory) { mix(t, f, 2, true) }},
}

// wait0 is Status, failing the test on error.
func wait0(t *testing.T, q task.Queue, id string) task.Status {
	t.Helper()
	st, err := q.Status(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// mix runs a seeded random mix of tasks that succeed, fail, time out,
// ignore their context, panic, retry and spend their budget, while
// goroutines submit, cancel, list and read stats. At the end (after the
// backend closed, when closeEarly) every task is in exactly one terminal
// state and the counters reconcile with the statuses.
func mix(t *testing.T, f Factory, seed uint64, closeEarly bool) {
	const submitters, perSubmitter, capacity = 4, 40, 60
	q := f(t, task.Config{Workers: 4, QueueCap: capacity, Seed: seed, MaxFinished: 1 << 20})
	defer q.Close()
	var mu sync.Mutex
	var accepted []string
	var rejected int64
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			var mine []string
			for range perSubmitter {
				id, err := q.Submit(randomSpec(rng))
				switch {
				case errors.Is(err, task.ErrQueueFull):
					mu.Lock()
					rejected++
					mu.Unlock()
				case err != nil:
					t.Errorf("submit: %v", err)
					return
				default:
					mine = append(mine, id)
				}
				switch r := rng.IntN(100); {
				case r < 15 && len(mine) > 0:
					if _, err := q.Cancel(mine[rng.IntN(len(mine))]); err != nil {
						t.Errorf("cancel: %v", err)
					}
				case r < 18:
					if _, err := q.List(task.Filter{State: string(task.States[rng.IntN(len(task.States))]), Limit: 10}); err != nil {
						t.Errorf("list: %v", err)
					}
				case r < 20:
					if s := q.Stats(); s.Queued+s.Retrying > capacity || s.Running > 4 || !s.Balanced() {
						t.Errorf("stats over the limits: %+v", s)
					}
				}
				time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
			}
			mu.Lock()
			accepted = append(accepted, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if !closeEarly {
		if _, err := q.WaitAll(ctxT(t), accepted); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	s := q.Stats()
	if s.Submitted != int64(len(accepted)) || s.Rejected != rejected {
		t.Fatalf("stats count %d submitted, %d rejected; the submitters saw %d and %d", s.Submitted, s.Rejected, len(accepted), rejected)
	}
	if s.Queued != 0 || s.Running != 0 || s.Retrying != 0 || !s.Balanced() {
		t.Fatalf("stats after the mix: %+v", s)
	}
	byState := map[task.State]int64{}
	for _, id := range accepted {
		st, err := q.Status(id)
		if err != nil {
			t.Fatal(err)
		}
		if !st.State.Terminal() {
			t.Fatalf("%s ended %s", id, st.State)
		}
		if (st.State == task.Succeeded) != (st.Error == nil) || st.Attempts > st.MaxAttempts ||
			st.Finished.Before(st.Submitted) || st.CancelRequested {
			t.Fatalf("inconsistent status %+v", st)
		}
		byState[st.State]++
	}
	want := map[task.State]int64{task.Succeeded: s.Succeeded, task.Failed: s.Failed, task.TimedOut: s.TimedOut, task.Cancelled: s.Cancelled}
	for st, n := range want {
		if byState[st] != n {
			t.Fatalf("%d tasks %s, stats say %d (%v)", byState[st], st, n, byState)
		}
	}
	if closeEarly && s.Cancelled == 0 {
		t.Error("close found no work in flight")
	}
	t.Logf("%+v, %d rejected", byState, rejected)
}

// randomSpec draws one task of the mix.
func randomSpec(rng *rand.Rand) task.Spec {
	s := task.Spec{Priority: rng.IntN(5) - 2, Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	d := time.Duration(rng.IntN(10)) * time.Millisecond
	sleeps := func(d time.Duration) task.Runner {
		return func(ctx context.Context, _ *task.Attempt) (any, error) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return "slept", nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
	}
	switch kind := rng.IntN(9); kind {
	case 0, 1:
		s.Name, s.Run = "ok", sleeps(d)
	case 2:
		s.Name, s.Run = "fail", func(context.Context, *task.Attempt) (any, error) { return nil, tools.Failed("broken") }
	case 3:
		s.Name, s.Timeout, s.Retries, s.Run = "timeout", 5*time.Millisecond, rng.IntN(2), sleeps(50*time.Millisecond)
	case 4:
		okAt := 1 + rng.IntN(4)
		s.Name, s.Retries = "flaky", rng.IntN(3)
		s.Run = func(ctx context.Context, a *task.Attempt) (any, error) {
			if a.Number() < okAt {
				return nil, tools.Failed("flaky")
			}
			return sleeps(d)(ctx, a)
		}
	case 5:
		s.Name, s.Timeout = "stubborn", 5*time.Millisecond
		s.Run = func(context.Context, *task.Attempt) (any, error) { time.Sleep(d); return "late", nil }
	case 6:
		s.Name, s.Cost, s.Budget, s.Retries = "budget", 1, 2, 5
		s.Run = func(_ context.Context, a *task.Attempt) (any, error) {
			if err := a.Spend(0.5); err != nil {
				return nil, err
			}
			return nil, tools.Failed("again")
		}
	case 7:
		s.Name, s.Run = "panic", func(context.Context, *task.Attempt) (any, error) { panic("boom") }
	case 8:
		s.Name, s.Retries, s.Run = "invalid", 3, func(context.Context, *task.Attempt) (any, error) { return nil, tools.Invalid("bad") }
	}
	return s
}
