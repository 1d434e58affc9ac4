package task_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

// TestInvariant runs a seeded random mix of tasks that succeed, fail, time
// out, ignore their context, panic, retry and spend their budget, while
// many goroutines submit, cancel, list and read stats. At the end every
// task is in exactly one terminal state and the counters reconcile with
// the per-task statuses. With close set, the manager closes with work in
// flight instead of waiting for it.
func TestInvariant(t *testing.T) {
	for _, c := range []struct {
		seed  uint64
		close bool
	}{{1, false}, {2, false}, {3, true}, {4, true}} {
		t.Run(fmt.Sprintf("seed %d close %v", c.seed, c.close), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { mix(t, c.seed, c.close) })
		})
	}
}

func mix(t *testing.T, seed uint64, closeEarly bool) {
	const submitters, perSubmitter = 8, 200
	obs := &recorder{}
	m, err := task.New(task.Config{Workers: 4, QueueCap: 150, Seed: seed, MaxFinished: 1 << 20, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var mu sync.Mutex
	var accepted []string
	var rejected int64
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			var mine []string
			for range perSubmitter {
				spec := randomSpec(rng)
				id, err := m.Submit(spec)
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
					if _, err := m.Cancel(mine[rng.IntN(len(mine))]); err != nil {
						t.Errorf("cancel: %v", err)
					}
				case r < 18:
					if _, err := m.List(task.Filter{State: string(task.States[rng.IntN(len(task.States))]), Limit: 10}); err != nil {
						t.Errorf("list: %v", err)
					}
				case r < 20:
					if s := m.Stats(); s.Queued+s.Retrying > 150 || s.Running > 4 {
						t.Errorf("stats over the limits: %+v", s)
					}
				}
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
			mu.Lock()
			accepted = append(accepted, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()

	if !closeEarly {
		if _, err := m.WaitAll(context.Background(), accepted); err != nil {
			t.Fatal(err)
		}
	}
	m.Close() // the observer's last calls are done once the workers are

	s := m.Stats()
	if s.Submitted != int64(len(accepted)) || s.Rejected != rejected {
		t.Fatalf("stats count %d submitted, %d rejected; the submitters saw %d and %d", s.Submitted, s.Rejected, len(accepted), rejected)
	}
	if rejected == 0 {
		t.Error("the mix never filled the queue")
	}
	if s.Queued != 0 || s.Running != 0 || s.Retrying != 0 || !s.Balanced() {
		t.Fatalf("stats after the mix: %+v", s)
	}
	byState := map[task.State]int64{}
	for _, id := range accepted {
		st, err := m.Status(id)
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
		if obs.finishedIn(st) != int(n) {
			t.Fatalf("observer saw %d tasks %s, stats say %d", obs.states[st], st, n)
		}
	}
	if closeEarly && s.Cancelled == 0 {
		t.Error("close found no work in flight")
	}
	t.Logf("%+v", byState)
}

// randomSpec draws one task of the mix.
func randomSpec(rng *rand.Rand) task.Spec {
	s := task.Spec{Priority: rng.IntN(5) - 2, Backoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	d := time.Duration(rng.IntN(20)) * time.Millisecond
	switch kind := rng.IntN(9); kind {
	case 0, 1:
		s.Name, s.Run = "ok", sleeps(d)
	case 2:
		s.Name, s.Run = "fail", fails(tools.Failed("broken"))
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
		s.Name, s.Retries, s.Run = "invalid", 3, fails(tools.Invalid("bad"))
	}
	return s
}
