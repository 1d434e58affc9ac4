package task_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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

func TestCancelQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		submit(t, m, task.Spec{Run: g.run})
		ran := false
		id := submit(t, m, task.Spec{Run: func(context.Context, *task.Attempt) (any, error) { ran = true; return nil, nil }})
		synctest.Wait()
		time.Sleep(5 * time.Millisecond)
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Cancelled || st.QueueWait != 5*time.Millisecond || st.Attempts != 0 {
			t.Fatalf("cancel: %+v, %v", st, err)
		}
		wantType(t, st.Err(), tools.TypeCancelled, "cancelled by Task.cancel")
		if s := m.Stats(); s.Queued != 0 || s.Cancelled != 1 || !s.Balanced() {
			t.Fatalf("stats %+v, want the task out of the queue", s)
		}
		close(g.release)
		synctest.Wait()
		if ran {
			t.Fatal("a cancelled task ran")
		}
	})
}

func TestCancelRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		g := newGate()
		id := submit(t, m, task.Spec{Run: g.run, Retries: 3})
		synctest.Wait()
		time.Sleep(30 * time.Millisecond)
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Running || !st.CancelRequested {
			t.Fatalf("cancel: %+v, %v; want running with cancel requested", st, err)
		}
		cause := <-g.causes
		wantType(t, cause, tools.TypeCancelled, "task "+id+": cancelled by Task.cancel")
		st = wait(t, m, id)
		if st.State != task.Cancelled || st.Attempts != 1 || st.RunTime != 30*time.Millisecond || st.CancelRequested {
			t.Fatalf("after cancel: %+v, want cancelled after one attempt (no retry)", st)
		}
		wantType(t, st.Err(), tools.TypeCancelled, "cancelled by Task.cancel")
	})
}

// TestCancelWinsOverLateSuccess: a runner that ignores its context and
// succeeds after Cancel still ends cancelled, as Cancel promised.
func TestCancelWinsOverLateSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		id := submit(t, m, task.Spec{Run: func(context.Context, *task.Attempt) (any, error) {
			time.Sleep(time.Second)
			return "done anyway", nil
		}})
		synctest.Wait()
		m.Cancel(id)
		if st := wait(t, m, id); st.State != task.Cancelled || st.Result != nil {
			t.Fatalf("%+v", st)
		}
	})
}

func TestCancelRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		attempts := 0
		id := submit(t, m, task.Spec{Retries: 5, Backoff: time.Hour, MaxBackoff: time.Hour,
			Run: func(context.Context, *task.Attempt) (any, error) { attempts++; return nil, errors.New("down") }})
		synctest.Wait()
		if st := status(t, m, id); st.State != task.Retrying {
			t.Fatalf("state %s, want retrying", st.State)
		}
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Cancelled {
			t.Fatalf("cancel while retrying: %+v, %v", st, err)
		}
		time.Sleep(2 * time.Hour)
		if attempts != 1 {
			t.Fatalf("%d attempts after cancel, want 1", attempts)
		}
		if s := m.Stats(); s.Retrying != 0 || s.Cancelled != 1 || !s.Balanced() {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestCancelTerminalAndUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		id := submit(t, m, task.Spec{Run: returns("ok")})
		before := wait(t, m, id)
		after, err := m.Cancel(id)
		if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("cancel of a finished task: %+v, %v; want it unchanged, no error", after, err)
		}
		_, err = m.Cancel("t-999999")
		wantType(t, err, tools.TypeNotFound, "t-999999", "retention")
		_, err = m.Status("nope")
		wantType(t, err, tools.TypeNotFound, "task nope not found")
	})
}

// backoffCeiling is retry k's jitter bound: base×2^(k-1), capped.
func backoffCeiling(base, limit time.Duration, k int) time.Duration {
	c := base
	for range k - 1 {
		c *= 2
		if c >= limit {
			return limit
		}
	}
	return min(c, limit)
}

// retrySchedule runs a task that always fails with the given retries and
// returns the gaps between one attempt's end and the next one's start.
func retrySchedule(t *testing.T, seed uint64, retries int, base, limit time.Duration) []time.Duration {
	var gaps []time.Duration
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Seed: seed})
		var starts []time.Time
		st := wait(t, m, submit(t, m, task.Spec{Retries: retries, Backoff: base, MaxBackoff: limit,
			Run: func(_ context.Context, a *task.Attempt) (any, error) {
				if a.Number() != len(starts)+1 {
					t.Errorf("attempt %d, want %d", a.Number(), len(starts)+1)
				}
				starts = append(starts, time.Now())
				time.Sleep(time.Millisecond) // the attempt's own run time
				return nil, tools.Failed("unavailable")
			}}))
		if st.State != task.Failed || st.Attempts != retries+1 || len(starts) != retries+1 {
			t.Fatalf("%s after %d attempts, want failed after %d", st.State, st.Attempts, retries+1)
		}
		if s := m.Stats(); s.Retries != int64(retries) {
			t.Fatalf("stats count %d retries, want %d", s.Retries, retries)
		}
		for i := 1; i < len(starts); i++ {
			gaps = append(gaps, starts[i].Sub(starts[i-1])-time.Millisecond)
		}
	})
	return gaps
}

func TestRetryBackoff(t *testing.T) {
	const base, limit = 100 * time.Millisecond, time.Second
	gaps := retrySchedule(t, 7, 10, base, limit)
	for i, g := range gaps {
		k := i + 1
		if ceil := backoffCeiling(base, limit, k); g < 0 || g > ceil {
			t.Fatalf("retry %d after %v, want within [0, %v]", k, g, ceil)
		}
	}
	t.Logf("gaps %v", gaps)
	// Retries 5 to 10 have ceilings of 1s (the cap): with full jitter the
	// seeded draws spread over it, past what an uncapped base would allow.
	if slices.Max(gaps[4:]) <= 4*base {
		t.Fatalf("late gaps %v never exceed %v: backoff does not grow", gaps[4:], 4*base)
	}
	if again := retrySchedule(t, 7, 10, base, limit); !slices.Equal(gaps, again) {
		t.Fatalf("same seed, different schedule:\n%v\n%v", gaps, again)
	}
	if other := retrySchedule(t, 8, 10, base, limit); slices.Equal(gaps, other) {
		t.Fatal("another seed gave the same schedule")
	}
}

func TestQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1, QueueCap: 2})
		g := newGate()
		submit(t, m, task.Spec{Run: g.run})
		synctest.Wait() // running: not counted against the queue
		submit(t, m, task.Spec{Run: returns(1)})
		submit(t, m, task.Spec{Run: returns(2)})
		_, err := m.Submit(task.Spec{Run: returns(3)})
		wantType(t, err, task.TypeQueueFull, "2 tasks", "options.tasks.queue")
		if !errors.Is(err, task.ErrQueueFull) {
			t.Fatalf("%v does not match ErrQueueFull", err)
		}
		if s := m.Stats(); s.Rejected != 1 || s.Submitted != 3 || s.Queued != 2 || !s.Balanced() {
			t.Fatalf("stats %+v", s)
		}
		close(g.release)
		synctest.Wait()
		submit(t, m, task.Spec{Run: returns(4)})
	})
}

// TestQueueFullCountsRetrying: a task waiting to retry keeps its place, so
// it can always be queued again.
func TestQueueFullCountsRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{QueueCap: 1})
		submit(t, m, task.Spec{Retries: 1, Backoff: time.Hour, MaxBackoff: time.Hour, Run: fails(errors.New("x"))})
		synctest.Wait()
		_, err := m.Submit(task.Spec{Run: returns(1)})
		wantType(t, err, task.TypeQueueFull, "1 tasks queued or waiting to retry")
	})
}

func TestRateLimit(t *testing.T) {
	cases := []struct {
		perMinute float64
		burst     int
		tasks     int
		last      time.Duration // when the last task starts
		waits     int64
		waited    time.Duration
	}{
		{perMinute: 60, tasks: 5, last: 4 * time.Second, waits: 4, waited: 10 * time.Second},
		{perMinute: 30, tasks: 4, last: 6 * time.Second, waits: 3, waited: 12 * time.Second},
		{perMinute: 600, burst: 3, tasks: 6, last: 300 * time.Millisecond, waits: 3, waited: 600 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/min burst %d", c.perMinute, c.burst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recorder{}
				m := newManager(t, task.Config{Workers: 4, RatePerMinute: c.perMinute, Burst: c.burst, Observer: obs})
				start := time.Now()
				var mu sync.Mutex
				var starts []time.Duration
				ids := make([]string, c.tasks)
				for i := range ids {
					ids[i] = submit(t, m, task.Spec{Run: func(context.Context, *task.Attempt) (any, error) {
						mu.Lock()
						starts = append(starts, time.Since(start))
						mu.Unlock()
						return nil, nil
					}})
				}
				if _, err := m.WaitAll(context.Background(), ids); err != nil {
					t.Fatal(err)
				}
				slices.Sort(starts)
				if starts[len(starts)-1] != c.last {
					t.Fatalf("starts %v, want the last at %v", starts, c.last)
				}
				s := m.Stats()
				if s.RateLimitWaits != c.waits || s.RateLimitWait != c.waited {
					t.Fatalf("%d waits for %v in all, want %d for %v", s.RateLimitWaits, s.RateLimitWait, c.waits, c.waited)
				}
				if w, d := obs.rateWaits(); w != c.waits || d != c.waited {
					t.Fatalf("observer saw %d waits for %v", w, d)
				}
			})
		})
	}
}

// TestRateLimitCountsRetries: every attempt takes a token.
func TestRateLimitCountsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{RatePerMinute: 60})
		start := time.Now()
		st := wait(t, m, submit(t, m, task.Spec{Retries: 2, Backoff: time.Millisecond, Run: fails(errors.New("x"))}))
		if st.Attempts != 3 || time.Since(start) < 2*time.Second {
			t.Fatalf("3 attempts at 1/s took %v", time.Since(start))
		}
	})
}

func TestBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{DefaultBudget: 5})

		// Cost charged before each attempt: 3+3+3, the fourth would pass 10.
		st := wait(t, m, submit(t, m, task.Spec{Budget: 10, Cost: 3, Retries: 5, Run: fails(tools.Failed("model overloaded"))}))
		if st.State != task.Failed || st.Attempts != 3 || st.Spent != 9 || st.Budget != 10 {
			t.Fatalf("cost: %+v, want failed after 3 attempts having spent 9 of 10", st)
		}
		wantType(t, st.Err(), task.TypeBudget, "before attempt 4", "spent 9 of 10", "last error: model overloaded")

		// Spend from the runner: the second 6 passes 10; no retry follows.
		var spendErr error
		st = wait(t, m, submit(t, m, task.Spec{Budget: 10, Retries: 3, Run: func(_ context.Context, a *task.Attempt) (any, error) {
			if err := a.Spend(6); err != nil {
				return nil, err
			}
			spendErr = a.Spend(6)
			return nil, spendErr
		}}))
		if !errors.Is(spendErr, task.ErrBudget) {
			t.Fatalf("Spend = %v, want budget_exhausted", spendErr)
		}
		if st.State != task.Failed || st.Attempts != 1 || st.Spent != 6 {
			t.Fatalf("spend: %+v, want failed after 1 attempt having spent 6", st)
		}
		wantType(t, st.Err(), task.TypeBudget, "spending 6 would bring 6 to 12, over the budget of 10")

		// The config's default budget: 5 spent, nothing left for attempt 2.
		st = wait(t, m, submit(t, m, task.Spec{Cost: 5, Retries: 2, Run: fails(errors.New("x"))}))
		if st.State != task.Failed || st.Attempts != 1 || st.Budget != 5 {
			t.Fatalf("default budget: %+v", st)
		}
		wantType(t, st.Err(), task.TypeBudget)

		// Exactly the budget is allowed.
		st = wait(t, m, submit(t, m, task.Spec{Cost: 5, Run: returns("ok")}))
		if st.State != task.Succeeded || st.Spent != 5 {
			t.Fatalf("cost equal to the budget: %+v", st)
		}

		// A task never started for want of budget: Cost over the budget.
		st = wait(t, m, submit(t, m, task.Spec{Cost: 6, Run: returns("ok")}))
		if st.State != task.Failed || st.Attempts != 0 {
			t.Fatalf("cost over the budget: %+v", st)
		}
	})
}

func TestSpendMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		var kept *task.Attempt
		var negErr error
		wait(t, m, submit(t, m, task.Spec{Run: func(_ context.Context, a *task.Attempt) (any, error) {
			kept = a
			negErr = a.Spend(math.NaN())
			return nil, a.Spend(1e9) // unlimited budget
		}}))
		wantType(t, negErr, tools.TypeValidation, "want a finite amount")
		wantType(t, kept.Spend(1), tools.TypeValidation, "after attempt 1 returned")
	})
}

func TestRetentionByCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{MaxFinished: 5})
		var ids []string
		for i := range 20 {
			id := submit(t, m, task.Spec{Run: returns(i)})
			wait(t, m, id)
			ids = append(ids, id)
		}
		s := m.Stats()
		if s.Retained != 5 || s.Dropped != 15 || s.Succeeded != 20 || !s.Balanced() {
			t.Fatalf("stats %+v, want 5 kept, 15 dropped", s)
		}
		_, err := m.Status(ids[14])
		wantType(t, err, tools.TypeNotFound, "dropped by retention", "latest 5")
		page, err := m.List(task.Filter{})
		if err != nil || page.Total != 5 || page.Tasks[0].ID != ids[15] {
			t.Fatalf("list %+v, %v; want the latest 5", page, err)
		}
	})
}

func TestRetentionByAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{MaxAge: time.Minute})
		old := submit(t, m, task.Spec{Run: returns(1)})
		wait(t, m, old)
		time.Sleep(30 * time.Second)
		young := submit(t, m, task.Spec{Run: returns(2)})
		wait(t, m, young)
		time.Sleep(30 * time.Second) // old is exactly 1m old: kept
		status(t, m, old)
		time.Sleep(time.Nanosecond)
		_, err := m.Status(old)
		wantType(t, err, tools.TypeNotFound, "at most 1m0s")
		status(t, m, young)
		time.Sleep(30 * time.Second)
		if s := m.Stats(); s.Retained != 0 || s.Dropped != 2 || !s.Balanced() {
			t.Fatalf("stats %+v, want both dropped", s)
		}
	})
}

// TestRetentionBound runs many tasks under a small limit: what is kept
// stays at the limit.
func TestRetentionBound(t *testing.T) {
	m := newManager(t, task.Config{Workers: 2, MaxFinished: 100})
	ids := make([]string, 0, 1000)
	for range 20 {
		ids = ids[:0]
		for range 1000 {
			ids = append(ids, submit(t, m, task.Spec{Run: returns(nil)}))
		}
		// Early ids may be dropped while WaitAll looks them up: wait on the last.
		wait(t, m, ids[len(ids)-1])
		for _, id := range ids[len(ids)-50:] {
			wait(t, m, id)
		}
	}
	s := m.Stats()
	if s.Retained > 100 || s.Submitted != 20000 || s.Dropped < 19000 {
		t.Fatalf("stats %+v, want at most 100 kept", s)
	}
}

func TestPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		submit(t, m, task.Spec{Run: g.run})
		synctest.Wait()
		var order []string
		for _, p := range []struct {
			name string
			prio int
		}{{"p0", 0}, {"p5a", 5}, {"p1a", 1}, {"p5b", 5}, {"neg", -1}, {"p1b", 1}} {
			submit(t, m, task.Spec{Name: p.name, Priority: p.prio, Run: func(context.Context, *task.Attempt) (any, error) {
				order = append(order, p.name)
				return nil, nil
			}})
		}
		close(g.release)
		synctest.Wait()
		if want := []string{"p5a", "p5b", "p1a", "p1b", "p0", "neg"}; !slices.Equal(order, want) {
			t.Fatalf("ran %v, want %v", order, want)
		}
	})
}

func TestList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		running := submit(t, m, task.Spec{Run: g.run, Tags: map[string]string{"env": "a", "kind": "gate"}})
		synctest.Wait()
		var queued []string
		for i := range 10 {
			env := []string{"a", "b"}[i%2]
			queued = append(queued, submit(t, m, task.Spec{Run: returns(i), Tags: map[string]string{"env": env, "kind": "x"}}))
		}
		all := append([]string{running}, queued...)
		ids := func(p task.Page) []string {
			var out []string
			for _, st := range p.Tasks {
				out = append(out, st.ID)
			}
			return out
		}
		cases := []struct {
			f     task.Filter
			ids   []string
			total int
			next  int
		}{
			{task.Filter{}, all, 11, -1},
			{task.Filter{State: "running"}, []string{running}, 1, -1},
			{task.Filter{State: "queued"}, queued, 10, -1},
			{task.Filter{State: "succeeded"}, nil, 0, -1},
			{task.Filter{Tag: "env:a"}, []string{running, queued[0], queued[2], queued[4], queued[6], queued[8]}, 6, -1},
			{task.Filter{Tag: "env:a", Tags: map[string]string{"kind": "x"}}, []string{queued[0], queued[2], queued[4], queued[6], queued[8]}, 5, -1},
			{task.Filter{Tags: map[string]string{"env": "b", "kind": "x"}, Limit: 2}, []string{queued[1], queued[3]}, 5, 2},
			{task.Filter{Tag: "env:b", Offset: 2, Limit: 2}, []string{queued[5], queued[7]}, 5, 4},
			{task.Filter{Tag: "env:b", Offset: 4, Limit: 2}, []string{queued[9]}, 5, -1},
			{task.Filter{Tag: "env:c"}, nil, 0, -1},
			{task.Filter{Tag: "nokey:a"}, nil, 0, -1},
			{task.Filter{Offset: 3, Limit: 3}, all[3:6], 11, 6},
			{task.Filter{Offset: 50}, nil, 11, -1},
		}
		for _, c := range cases {
			p, err := m.List(c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			if !slices.Equal(ids(p), c.ids) || p.Total != c.total || p.Next != c.next || p.Offset != c.f.Offset {
				t.Fatalf("%+v: got %v total %d next %d, want %v total %d next %d", c.f, ids(p), p.Total, p.Next, c.ids, c.total, c.next)
			}
		}
		// Pages walk every task exactly once, in submission order.
		var walked []string
		for off := 0; off >= 0; {
			p, err := m.List(task.Filter{Offset: off, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, ids(p)...)
			off = p.Next
		}
		if !slices.Equal(walked, all) {
			t.Fatalf("walked %v", walked)
		}
		close(g.release)
	})
}

func TestListDefaultLimit(t *testing.T) {
	m := newManager(t, task.Config{Workers: 1})
	var last string
	for range 150 {
		last = submit(t, m, task.Spec{Run: returns(nil)})
	}
	wait(t, m, last)
	p, err := m.List(task.Filter{State: "succeeded"})
	if err != nil || len(p.Tasks) != 100 || p.Total != 150 || p.Next != 100 {
		t.Fatalf("%d tasks of %d, next %d, %v; want 100 of 150", len(p.Tasks), p.Total, p.Next, err)
	}
}

func TestListBadFilters(t *testing.T) {
	m := newManager(t, task.Config{})
	cases := []struct {
		f    task.Filter
		says string
	}{
		{task.Filter{State: "done"}, `unknown task state "done"`},
		{task.Filter{State: "Queued"}, "want one of queued"},
		{task.Filter{Tag: "env"}, `tag "env": want key:value`},
		{task.Filter{Tag: ":a"}, "want key:value"},
		{task.Filter{Offset: -1}, "offset -1"},
		{task.Filter{Limit: -1}, "limit -1"},
		{task.Filter{Limit: 1001}, "limit 1001: want 1 to 1000"},
	}
	for _, c := range cases {
		_, err := m.List(c.f)
		wantType(t, err, tools.TypeValidation, c.says)
	}
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

func TestWaitDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		slow := submit(t, m, task.Spec{Run: sleeps(time.Hour)})
		quick := submit(t, m, task.Spec{Run: sleeps(50 * time.Millisecond)})

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		st, err := m.Wait(ctx, slow)
		wantType(t, err, tools.TypeTimeout, "task "+slow+": wait ended with the task still running")
		if st.State != task.Running || st.ID != slow {
			t.Fatalf("status with the timeout: %+v", st)
		}

		ctx, cancelCause := context.WithCancelCause(context.Background())
		cancelCause(errors.New("user pressed ctrl-c"))
		_, err = m.Wait(ctx, slow)
		wantType(t, err, tools.TypeCancelled, "user pressed ctrl-c")

		// A finished task answers even on a done context.
		if st, err := m.Wait(ctx, quick); err != nil || st.State != task.Succeeded {
			t.Fatalf("wait on a finished task: %+v, %v", st, err)
		}

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		sts, err := m.WaitAll(ctx, []string{quick, slow, quick})
		wantType(t, err, tools.TypeTimeout)
		if len(sts) != 3 || sts[0].State != task.Succeeded || sts[1].State != task.Running || sts[2].State != task.Succeeded {
			t.Fatalf("wait all: %+v", sts)
		}
		_, err = m.WaitAll(ctx, []string{quick, "t-424242"})
		wantType(t, err, tools.TypeNotFound, "t-424242")
		_, err = m.Wait(ctx, "t-424242")
		wantType(t, err, tools.TypeNotFound)

		var ids []string
		for i := range 5 {
			ids = append(ids, submit(t, m, task.Spec{Run: sleeps(time.Duration(i) * time.Millisecond)}))
		}
		sts, err = m.WaitAll(context.Background(), ids)
		if err != nil || len(sts) != 5 {
			t.Fatal(err)
		}
		for i, st := range sts {
			if st.ID != ids[i] || st.State != task.Succeeded {
				t.Fatalf("wait all: %+v", st)
			}
		}
		m.Cancel(slow)
	})
}

func TestBeforeAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []string
		m := newManager(t, task.Config{BeforeAttempt: func(ctx context.Context, s *task.Spec, attempt int) error {
			seen = append(seen, fmt.Sprintf("%s#%d", s.Name, attempt))
			if ctx.Err() != nil {
				t.Error("hook got a done context")
			}
			switch {
			case s.Name == "flaky" && attempt == 1:
				return tools.Errorf(tools.TypeInjected, "fault: injected error")
			case s.Name == "denied":
				return tools.Errorf(tools.TypePermission, "fault: denied")
			}
			return nil
		}})
		st := wait(t, m, submit(t, m, task.Spec{Name: "flaky", Retries: 2, Backoff: time.Millisecond, Run: returns("ok")}))
		if st.State != task.Succeeded || st.Attempts != 2 {
			t.Fatalf("flaky: %+v", st)
		}
		st = wait(t, m, submit(t, m, task.Spec{Name: "denied", Retries: 2, Run: returns("ok")}))
		if st.State != task.Failed || st.Attempts != 1 {
			t.Fatalf("denied: %+v", st)
		}
		wantType(t, st.Err(), tools.TypePermission, "fault: denied")
		if want := []string{"flaky#1", "flaky#2", "denied#1"}; !slices.Equal(seen, want) {
			t.Fatalf("hook saw %v, want %v", seen, want)
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

func (r *recorder) TaskStarted(queueWait time.Duration, running int) {
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

func (r *recorder) TaskRetried() {
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
