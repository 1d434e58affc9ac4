package task_test

// Scheduling and attempts: retries, the queue's capacity, the rate limit,
// budgets, priority and the BeforeAttempt hook.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

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
