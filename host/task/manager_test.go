package task_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/task"
	"spellhost/tools"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newManager returns a manager closed when the test ends.
func newManager(t *testing.T, cfg task.Config) *task.Manager {
	t.Helper()
	m, err := task.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func submit(t *testing.T, m *task.Manager, s task.Spec) string {
	t.Helper()
	if s.Name == "" {
		s.Name = "fn"
	}
	id, err := m.Submit(s)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return id
}

func status(t *testing.T, m *task.Manager, id string) task.Status {
	t.Helper()
	st, err := m.Status(id)
	if err != nil {
		t.Fatalf("status %s: %v", id, err)
	}
	return st
}

func wait(t *testing.T, m *task.Manager, id string) task.Status {
	t.Helper()
	st, err := m.Wait(context.Background(), id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return st
}

// returns is a runner that answers v at once.
func returns(v any) task.Runner {
	return func(context.Context, *task.Attempt) (any, error) { return v, nil }
}

// fails is a runner that answers err at once.
func fails(err error) task.Runner {
	return func(context.Context, *task.Attempt) (any, error) { return nil, err }
}

// sleeps is a runner that sleeps d unless its context ends first.
func sleeps(d time.Duration) task.Runner {
	return func(ctx context.Context, _ *task.Attempt) (any, error) {
		select {
		case <-time.After(d):
			return "slept", nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// gate is a runner that blocks until release is closed or its context
// ends; it reports the context's cause on causes.
type gate struct {
	release chan struct{}
	causes  chan error
}

func newGate() *gate { return &gate{release: make(chan struct{}), causes: make(chan error, 16)} }

func (g *gate) run(ctx context.Context, _ *task.Attempt) (any, error) {
	select {
	case <-g.release:
		return "released", nil
	case <-ctx.Done():
		g.causes <- context.Cause(ctx)
		return nil, ctx.Err()
	}
}

func wantType(t *testing.T, err error, typ tools.ErrorType, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", typ)
	}
	if got := tools.TypeOf(err); got != typ {
		t.Fatalf("error %q has type %s, want %s", err, got, typ)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Fatalf("error %q does not say %q", err, c)
		}
	}
}

func TestSucceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		start := time.Now()
		id := submit(t, m, task.Spec{Name: "tool:sleeper", Run: sleeps(50 * time.Millisecond),
			Priority: 3, Tags: map[string]string{"suite": "unit"}})
		if id != "t-000001" {
			t.Fatalf("first id %q, want t-000001", id)
		}
		st := wait(t, m, id)
		want := task.Status{ID: id, Name: "tool:sleeper", State: task.Succeeded, Priority: 3,
			Tags: map[string]string{"suite": "unit"}, Attempts: 1, MaxAttempts: 1,
			Submitted: start, Started: start, Finished: start.Add(50 * time.Millisecond),
			RunTime: 50 * time.Millisecond, Result: "slept"}
		if fmt.Sprint(st) != fmt.Sprint(want) {
			t.Fatalf("status\n got %+v\nwant %+v", st, want)
		}
		if st.Err() != nil {
			t.Fatalf("Err() = %v", st.Err())
		}
		if id2 := submit(t, m, task.Spec{Run: returns(1)}); id2 != "t-000002" {
			t.Fatalf("second id %q", id2)
		}
	})
}

// TestStateTransitions walks a task through every state and checks each
// one as it happens.
func TestStateTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		first := submit(t, m, task.Spec{Run: g.run})
		synctest.Wait()
		if st := status(t, m, first); st.State != task.Running || st.Attempts != 1 {
			t.Fatalf("first: %s attempt %d, want running attempt 1", st.State, st.Attempts)
		}

		// queued behind the running task, waiting the time it waits.
		calls := 0
		flaky := submit(t, m, task.Spec{Retries: 1, Backoff: time.Second, MaxBackoff: time.Second,
			Run: func(context.Context, *task.Attempt) (any, error) {
				if calls++; calls == 1 {
					return nil, tools.Failed("flaky")
				}
				return "second time lucky", nil
			}})
		time.Sleep(10 * time.Millisecond)
		if st := status(t, m, flaky); st.State != task.Queued || st.QueueWait != 10*time.Millisecond || st.Attempts != 0 {
			t.Fatalf("flaky: %+v, want queued 10ms, no attempt", st)
		}

		// running → succeeded; queued → running → retrying
		close(g.release)
		synctest.Wait()
		if st := status(t, m, first); st.State != task.Succeeded || st.Result != "released" {
			t.Fatalf("first: %+v", st)
		}
		st := status(t, m, flaky)
		if st.State != task.Retrying || st.Attempts != 1 || st.NextAttempt.IsZero() ||
			st.NextAttempt.After(time.Now().Add(time.Second)) || st.Error == nil || st.Error.Message != "flaky" {
			t.Fatalf("flaky after one failure: %+v, want retrying within 1s", st)
		}
		// retrying → queued → running → succeeded
		st = wait(t, m, flaky)
		if st.State != task.Succeeded || st.Attempts != 2 || st.Result != "second time lucky" || !st.NextAttempt.IsZero() {
			t.Fatalf("flaky: %+v", st)
		}
		if st.QueueWait != 10*time.Millisecond {
			t.Fatalf("queue wait %v, want 10ms (the backoff is not queue wait)", st.QueueWait)
		}
	})
}

// TestOutcomes checks how each way an attempt can end settles the task.
func TestOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		spec     task.Spec
		state    task.State
		typ      tools.ErrorType
		message  string
		attempts int
	}{
		{"success", task.Spec{Run: returns(42)}, task.Succeeded, "", "", 1},
		{"execution error", task.Spec{Run: fails(tools.Failed("disk on fire"))}, task.Failed, tools.TypeExecution, "disk on fire", 1},
		{"plain error", task.Spec{Run: fails(errors.New("boom"))}, task.Failed, tools.TypeExecution, "boom", 1},
		{"retried error", task.Spec{Retries: 2, Run: fails(errors.New("boom"))}, task.Failed, tools.TypeExecution, "boom", 3},
		{"injected error is retried", task.Spec{Retries: 1, Run: fails(tools.Errorf(tools.TypeInjected, "fault"))}, task.Failed, tools.TypeInjected, "fault", 2},
		{"validation error not retried", task.Spec{Retries: 3, Run: fails(tools.Invalid("bad input"))}, task.Failed, tools.TypeValidation, "bad input", 1},
		{"not found not retried", task.Spec{Retries: 3, Run: fails(tools.Errorf(tools.TypeNotFound, "no tool"))}, task.Failed, tools.TypeNotFound, "no tool", 1},
		{"permission not retried", task.Spec{Retries: 3, Run: fails(tools.Errorf(tools.TypePermission, "use --allow-net"))}, task.Failed, tools.TypePermission, "--allow-net", 1},
		{"timeout", task.Spec{Timeout: 20 * time.Millisecond, Run: sleeps(time.Hour)}, task.TimedOut, tools.TypeTimeout, "task t-000001: attempt 1 timed out after 20ms", 1},
		{"timeout retried", task.Spec{Retries: 2, Timeout: 20 * time.Millisecond, Run: sleeps(time.Hour)}, task.TimedOut, tools.TypeTimeout, "attempt 3 timed out after 20ms", 3},
		{"runner's own timeout", task.Spec{Run: fails(tools.Errorf(tools.TypeTimeout, "tool sleeper: timed out after 1s"))}, task.TimedOut, tools.TypeTimeout, "tool sleeper", 1},
		{"runner's own cancel", task.Spec{Retries: 2, Run: fails(context.Canceled)}, task.Cancelled, tools.TypeCancelled, "context canceled", 1},
		{"panic", task.Spec{Run: func(context.Context, *task.Attempt) (any, error) { panic("nil map") }}, task.Failed, tools.TypeInternal, "attempt 1 panicked: nil map", 1},
		{"stubborn runner past its timeout", task.Spec{Timeout: 10 * time.Millisecond,
			Run: func(context.Context, *task.Attempt) (any, error) { time.Sleep(time.Second); return "late", nil }},
			task.TimedOut, tools.TypeTimeout, "timed out after 10ms", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newManager(t, task.Config{})
				st := wait(t, m, submit(t, m, c.spec))
				if st.State != c.state || st.Attempts != c.attempts {
					t.Fatalf("%s after %d attempts, want %s after %d (%+v)", st.State, st.Attempts, c.state, c.attempts, st.Error)
				}
				if c.typ == "" {
					if st.Error != nil || st.Result != 42 {
						t.Fatalf("status %+v", st)
					}
					return
				}
				if st.Result != nil {
					t.Fatalf("result %v kept with an error", st.Result)
				}
				wantType(t, st.Err(), c.typ, c.message)
				if got := m.Stats(); !got.Balanced() || got.Retries != int64(c.attempts-1) {
					t.Fatalf("stats %+v", got)
				}
			})
		})
	}
}

func TestTimeoutCauseAndRunTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{DefaultTimeout: 2 * time.Second})
		g := newGate()
		st := wait(t, m, submit(t, m, task.Spec{Run: g.run}))
		if st.State != task.TimedOut || st.RunTime != 2*time.Second {
			t.Fatalf("%s after %v, want timed_out after the default 2s", st.State, st.RunTime)
		}
		cause := <-g.causes
		var te *task.TimeoutError
		if !errors.As(cause, &te) || te.Limit != 2*time.Second || te.Attempt != 1 ||
			!errors.Is(cause, tools.ErrTimeout) || !errors.Is(cause, context.DeadlineExceeded) {
			t.Fatalf("cause %#v, want a *TimeoutError naming the 2s limit", cause)
		}
	})
}

func TestBadConfig(t *testing.T) {
	cases := []struct {
		cfg  task.Config
		says string
	}{
		{task.Config{Workers: -1}, "workers -1"},
		{task.Config{QueueCap: -5}, "queue capacity -5"},
		{task.Config{RatePerMinute: -1}, "rate per minute -1"},
		{task.Config{RatePerMinute: math.NaN()}, "rate per minute NaN"},
		{task.Config{RatePerMinute: math.Inf(1)}, "rate per minute +Inf"},
		{task.Config{Burst: -1}, "burst -1"},
		{task.Config{DefaultTimeout: -time.Second}, "default timeout -1s"},
		{task.Config{DefaultBudget: -1}, "default budget -1"},
		{task.Config{DefaultBudget: math.Inf(1)}, "default budget +Inf"},
		{task.Config{MaxFinished: -1}, "max finished -1"},
		{task.Config{MaxAge: -time.Minute}, "max age -1m0s"},
	}
	for _, c := range cases {
		m, err := task.New(c.cfg)
		if m != nil {
			m.Close()
			t.Fatalf("%+v accepted", c.cfg)
		}
		wantType(t, err, tools.TypeValidation, "task config: "+c.says)
	}
	m := newManager(t, task.Config{RatePerMinute: 600})
	got := m.Config()
	if got.Workers != 4 || got.QueueCap != 10000 || got.Burst != 10 || got.DefaultTimeout != time.Minute ||
		got.MaxFinished != 10000 || got.MaxAge != 10*time.Minute {
		t.Fatalf("defaults %+v", got)
	}
}

func TestBadSpec(t *testing.T) {
	m := newManager(t, task.Config{})
	run := returns(nil)
	cases := []struct {
		spec task.Spec
		says string
	}{
		{task.Spec{}, "run is required"},
		{task.Spec{Run: run, Timeout: -1}, "timeout -1ns"},
		{task.Spec{Run: run, Retries: -1}, "retries -1: want 0 to 100"},
		{task.Spec{Run: run, Retries: 101}, "retries 101: want 0 to 100"},
		{task.Spec{Run: run, Backoff: -time.Second}, "backoff -1s"},
		{task.Spec{Run: run, MaxBackoff: -time.Second}, "max backoff -1s"},
		{task.Spec{Run: run, Budget: -1}, "budget -1"},
		{task.Spec{Run: run, Budget: math.NaN()}, "budget NaN"},
		{task.Spec{Run: run, Cost: -2}, "cost -2"},
		{task.Spec{Run: run, Cost: math.Inf(1)}, "cost +Inf"},
		{task.Spec{Run: run, Tags: map[string]string{"": "x"}}, `tag key ""`},
		{task.Spec{Run: run, Tags: map[string]string{"a:b": "x"}}, `tag key "a:b"`},
	}
	for _, c := range cases {
		_, err := m.Submit(c.spec)
		wantType(t, err, tools.TypeValidation, "task spec: "+c.says)
	}
	if s := m.Stats(); s.Submitted != 0 {
		t.Fatalf("invalid specs counted: %+v", s)
	}
}

// TestTagsCopied: changing the caller's map after Submit changes nothing.
func TestTagsCopied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		tags := map[string]string{"env": "a"}
		id := submit(t, m, task.Spec{Run: returns(nil), Tags: tags})
		tags["env"] = "b"
		if st := wait(t, m, id); st.Tags["env"] != "a" {
			t.Fatalf("tags %v", st.Tags)
		}
	})
}

func TestCloseWithWorkInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		m, err := task.New(task.Config{Workers: 2, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		g := newGate()
		running := submit(t, m, task.Spec{Run: g.run})
		retrying := submit(t, m, task.Spec{Retries: 3, Backoff: time.Hour, MaxBackoff: time.Hour, Run: fails(errors.New("x"))})
		synctest.Wait()
		second := submit(t, m, task.Spec{Run: g.run}) // takes the worker the retrying task freed
		synctest.Wait()
		queued := submit(t, m, task.Spec{Run: g.run})
		synctest.Wait()
		if st := status(t, m, retrying); st.State != task.Retrying {
			t.Fatalf("retrying is %s", st.State)
		}
		if st := status(t, m, second); st.State != task.Running {
			t.Fatalf("second is %s", st.State)
		}
		if st := status(t, m, queued); st.State != task.Queued {
			t.Fatalf("queued is %s", st.State)
		}

		waited := make(chan task.Status)
		go func() {
			st, _ := m.Wait(context.Background(), queued)
			waited <- st
		}()
		m.Close()
		if st := <-waited; st.State != task.Cancelled {
			t.Fatalf("a waiter saw %s", st.State)
		}
		wantType(t, <-g.causes, tools.TypeCancelled, "task manager closed")
		for _, id := range []string{running, retrying, second, queued} {
			st := status(t, m, id)
			if st.State != task.Cancelled {
				t.Fatalf("%s is %s after Close, want cancelled", id, st.State)
			}
			wantType(t, st.Err(), tools.TypeCancelled, "closed")
		}
		s := m.Stats()
		if s.Cancelled != 4 || !s.Balanced() || s.Running+s.Queued+s.Retrying != 0 {
			t.Fatalf("stats %+v", s)
		}
		if obs.finished() != 4 {
			t.Fatalf("observer saw %d finished", obs.finished())
		}
		if _, err := m.Submit(task.Spec{Run: returns(nil)}); !errors.Is(err, task.ErrClosed) {
			t.Fatalf("submit after close: %v", err)
		}
		m.Close() // idempotent
	})
}

func TestCloseWhileWaitingForRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := task.New(task.Config{RatePerMinute: 1})
		if err != nil {
			t.Fatal(err)
		}
		a := submit(t, m, task.Spec{Run: returns(1)})
		b := submit(t, m, task.Spec{Run: returns(2)})
		wait(t, m, a)
		synctest.Wait() // a worker waits a minute for b's token
		start := time.Now()
		m.Close()
		if time.Since(start) != 0 {
			t.Fatalf("close waited %v", time.Since(start))
		}
		if st := status(t, m, b); st.State != task.Cancelled {
			t.Fatalf("b is %s", st.State)
		}
	})
}

// recorder is an Observer that counts what it sees.
type recorder struct {
	mu                             sync.Mutex
	queued, started, done, retried int
	waits                          int64
	waited                         time.Duration
	maxDepth, maxRunning           int
	queueWait                      time.Duration
	states                         map[task.State]int
}

func (r *recorder) TaskQueued(depth int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued++
	r.maxDepth = max(r.maxDepth, depth)
}

func (r *recorder) TaskStarted(_ map[string]string, queueWait time.Duration, running int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started++
	r.queueWait += queueWait
	r.maxRunning = max(r.maxRunning, running)
}

func (r *recorder) TaskFinished(st task.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !st.State.Terminal() {
		panic("TaskFinished with " + st.State)
	}
	if r.states == nil {
		r.states = map[task.State]int{}
	}
	r.done++
	r.states[st.State]++
}

func (r *recorder) TaskRetried(map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried++
}

func (r *recorder) RateLimitWait(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits++
	r.waited += d
}

func (r *recorder) finished() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

func (r *recorder) finishedIn(s task.State) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[s]
}

func (r *recorder) rateWaits() (int64, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waits, r.waited
}

var _ task.Observer = (*recorder)(nil)

func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		m := newManager(t, task.Config{Workers: 1, Observer: obs})
		g := newGate()
		ids := []string{submit(t, m, task.Spec{Run: g.run})}
		synctest.Wait()
		ids = append(ids,
			submit(t, m, task.Spec{Run: returns(1)}),
			submit(t, m, task.Spec{Retries: 1, Backoff: time.Millisecond, Run: fails(errors.New("x"))}))
		time.Sleep(10 * time.Millisecond)
		close(g.release)
		if _, err := m.WaitAll(context.Background(), ids); err != nil {
			t.Fatal(err)
		}
		m.Close() // the observer's last calls are done once the workers are
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if obs.queued != 3 || obs.maxDepth != 2 || obs.started != 4 || obs.retried != 1 || obs.done != 3 || obs.maxRunning != 1 {
			t.Fatalf("observer %+v", obs)
		}
		if obs.states[task.Succeeded] != 2 || obs.states[task.Failed] != 1 {
			t.Fatalf("outcomes %v", obs.states)
		}
		if obs.queueWait != 20*time.Millisecond { // two tasks queued behind the gate for 10ms
			t.Fatalf("queue wait %v", obs.queueWait)
		}
	})
}
