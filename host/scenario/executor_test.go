package scenario

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeVU records when it was asked to iterate and sleeps like a script.
type fakeVU struct {
	log   *iterLog
	sleep time.Duration
}

type iterLog struct {
	mu          sync.Mutex
	begin       time.Time
	starts      []time.Duration // when iterations started, since begin
	intended    []time.Duration
	interrupted int
	running     atomic.Int64
	peak        atomic.Int64
}

func (f *fakeVU) Iterate(ctx context.Context, intended time.Time) {
	l := f.log
	n := l.running.Add(1)
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	l.mu.Lock()
	l.starts = append(l.starts, time.Since(l.begin))
	l.intended = append(l.intended, intended.Sub(l.begin))
	l.mu.Unlock()
	t := time.NewTimer(f.sleep)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		l.mu.Lock()
		l.interrupted++
		l.mu.Unlock()
	}
	l.running.Add(-1)
}

// runFake runs a scenario with fake VUs that each take sleep per
// iteration, and returns the log, the number of dropped iterations and
// how long the scenario took.
func runFake(t *testing.T, sc *Scenario, sleep time.Duration) (*iterLog, int64, time.Duration) {
	t.Helper()
	ex, err := newExecutor(sc)
	if err != nil {
		t.Fatal(err)
	}
	l := &iterLog{begin: time.Now()}
	var workers []Worker
	for range ex.initVUs() {
		workers = append(workers, &fakeVU{log: l, sleep: sleep})
	}
	var dropped atomic.Int64
	x := &execution{sc: sc, workers: workers, active: &atomic.Int64{},
		dropped: func() { dropped.Add(1) },
		grow:    func() (Worker, error) { return &fakeVU{log: l, sleep: sleep}, nil }}
	if err := ex.run(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return l, dropped.Load(), time.Since(l.begin)
}

func withDefaults(sc *Scenario) *Scenario {
	sc.Name = "t"
	if sc.GracefulStop == 0 {
		sc.GracefulStop = DefaultGracefulStop
	}
	if sc.MaxDuration == 0 {
		sc.MaxDuration = DefaultMaxDuration
	}
	if sc.TimeUnit == 0 {
		sc.TimeUnit = time.Second
	}
	if sc.GracefulRampDown == 0 {
		sc.GracefulRampDown = DefaultGracefulRampDown
	}
	return sc
}

func TestSharedIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, took := runFake(t, withDefaults(&Scenario{Executor: SharedIterations, VUs: 3, Iterations: 10}), 100*time.Millisecond)
		if len(l.starts) != 10 || took != 400*time.Millisecond || l.peak.Load() != 3 {
			t.Fatalf("%d iterations in %v, peak %d; want 10 in 400ms, peak 3", len(l.starts), took, l.peak.Load())
		}
	})
}

func TestSharedIterationsMaxDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: SharedIterations, VUs: 2, Iterations: 1000, MaxDuration: time.Second, GracefulStop: time.Second})
		l, _, took := runFake(t, sc, 300*time.Millisecond)
		// Starts at 0, 300, 600, 900 on each VU; the last end at 1.2s.
		if len(l.starts) != 8 || took != 1200*time.Millisecond || l.interrupted != 0 {
			t.Fatalf("%d iterations in %v, %d interrupted", len(l.starts), took, l.interrupted)
		}
	})
}

func TestPerVUIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, took := runFake(t, withDefaults(&Scenario{Executor: PerVUIterations, VUs: 3, Iterations: 4}), 50*time.Millisecond)
		if len(l.starts) != 12 || took != 200*time.Millisecond {
			t.Fatalf("%d iterations in %v; want 12 in 200ms", len(l.starts), took)
		}
	})
}

func TestConstantVUs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, took := runFake(t, withDefaults(&Scenario{Executor: ConstantVUs, VUs: 2, Duration: time.Second}), 300*time.Millisecond)
		if len(l.starts) != 8 || took != 1200*time.Millisecond {
			t.Fatalf("%d iterations in %v; want 8 in 1.2s", len(l.starts), took)
		}
	})
}

func TestGracefulStopInterrupts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: ConstantVUs, VUs: 1, Duration: time.Second, GracefulStop: 500 * time.Millisecond})
		l, _, took := runFake(t, sc, 5*time.Second)
		if len(l.starts) != 1 || l.interrupted != 1 || took != 1500*time.Millisecond {
			t.Fatalf("%d iterations, %d interrupted, took %v; want 1, 1, 1.5s", len(l.starts), l.interrupted, took)
		}
	})
}

func TestRampSchedule(t *testing.T) {
	changes, total := rampSchedule(0, []Stage{{4 * time.Second, 4}, {2 * time.Second, 4}, {4 * time.Second, 0}})
	want := []vuChange{{0, 0}, {time.Second, 1}, {2 * time.Second, 2}, {3 * time.Second, 3}, {4 * time.Second, 4},
		{6 * time.Second, 3}, {7 * time.Second, 2}, {8 * time.Second, 1}, {9 * time.Second, 0}}
	if total != 10*time.Second || !slices.Equal(changes, want) {
		t.Fatalf("schedule %v (total %v), want %v", changes, total, want)
	}
	changes, _ = rampSchedule(2, []Stage{{0, 5}, {time.Second, 5}})
	if !slices.Equal(changes, []vuChange{{0, 2}, {0, 5}}) {
		t.Fatalf("instant jump: %v", changes)
	}
}

func TestRampingVUs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: RampingVUs, StartVUs: 0,
			Stages: []Stage{{4 * time.Second, 4}, {2 * time.Second, 4}, {4 * time.Second, 0}}, GracefulRampDown: 200 * time.Millisecond})
		// 300ms iterations never end on the whole seconds where the
		// target changes, so the schedule is exact.
		l, _, took := runFake(t, sc, 300*time.Millisecond)
		if l.peak.Load() != 4 {
			t.Fatalf("peak VUs %d, want 4", l.peak.Load())
		}
		// VU k starts at k seconds; the count of starts per whole second
		// follows the ramp: 0-1s: 2 starts (VU 1 at 1s counts in 1-2s)...
		count := func(from, to time.Duration) int {
			n := 0
			for _, s := range l.starts {
				if s >= from && s < to {
					n++
				}
			}
			return n
		}
		if got := count(0, time.Second); got != 0 {
			t.Fatalf("starts before 1s: %d, want 0 (0 VUs)", got)
		}
		// VU k starts at k s and every 300ms after: in [4s, 6s) VUs 1, 2
		// and 4 start 7 times, VU 3 6 times.
		if got := count(4*time.Second, 6*time.Second); got != 27 {
			t.Fatalf("starts at 4 VUs over 2s: %d, want 27", got)
		}
		if got := count(9*time.Second, 10*time.Second); got != 0 {
			t.Fatalf("starts after ramping to 0: %d", got)
		}
		if took != 10*time.Second {
			t.Fatalf("took %v, want 10s", took)
		}

	})
}

func TestRampDownInterruptsSlowIteration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: RampingVUs, StartVUs: 2,
			Stages: []Stage{{time.Second, 2}, {0, 1}, {2 * time.Second, 1}}, GracefulRampDown: 300 * time.Millisecond})
		l, _, _ := runFake(t, sc, 10*time.Second)
		// Both VUs start at 0; at 1s VU 2 is no longer wanted and is
		// interrupted at 1.3s; VU 1 runs on until the scenario's end plus
		// gracefulStop (30s), so it is interrupted then.
		if len(l.starts) != 2 || l.interrupted < 1 {
			t.Fatalf("starts %v, interrupted %d", l.starts, l.interrupted)
		}
	})
}

func TestConstantArrivalRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: ConstantArrivalRate, Rate: 10, Duration: time.Second, PreAllocatedVUs: 1, MaxVUs: 1})
		l, dropped, _ := runFake(t, sc, 50*time.Millisecond)
		if len(l.starts) != 10 || dropped != 0 {
			t.Fatalf("%d iterations, %d dropped; want 10, 0", len(l.starts), dropped)
		}
		for i, at := range l.intended {
			if at != time.Duration(i)*100*time.Millisecond || l.starts[i] != at {
				t.Fatalf("iteration %d intended at %v, started at %v", i, at, l.starts[i])
			}
		}
	})
}

func TestArrivalRateDropsWhenBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each iteration takes 250ms but one starts every 100ms, on one VU
		// that cannot grow: 3 of every 4... the VU runs at 0, 300, 600, 900.
		sc := withDefaults(&Scenario{Executor: ConstantArrivalRate, Rate: 10, Duration: time.Second, PreAllocatedVUs: 1, MaxVUs: 1})
		l, dropped, _ := runFake(t, sc, 250*time.Millisecond)
		if len(l.starts)+int(dropped) != 10 || len(l.starts) != 4 {
			t.Fatalf("%d ran, %d dropped; want 4 ran, 6 dropped", len(l.starts), dropped)
		}
	})
}

func TestArrivalRateGrowsVUs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := withDefaults(&Scenario{Executor: ConstantArrivalRate, Rate: 10, Duration: 2 * time.Second, PreAllocatedVUs: 1, MaxVUs: 5})
		l, dropped, _ := runFake(t, sc, 250*time.Millisecond)
		if dropped == 0 || dropped > 5 || len(l.starts)+int(dropped) != 20 || l.peak.Load() < 3 {
			t.Fatalf("%d ran, %d dropped, peak %d", len(l.starts), dropped, l.peak.Load())
		}
	})
}

func TestRampingArrivalRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 0 -> 10 iterations/s over 2s: N(t) = 2.5 t², so 10 iterations,
		// the i-th at sqrt(i/2.5) s.
		sc := withDefaults(&Scenario{Executor: RampingArrivalRate, StartRate: 0,
			Stages: []Stage{{2 * time.Second, 10}}, PreAllocatedVUs: 5, MaxVUs: 5})
		l, dropped, _ := runFake(t, sc, 10*time.Millisecond)
		if len(l.starts) != 10 || dropped != 0 {
			t.Fatalf("%d iterations, %d dropped", len(l.starts), dropped)
		}
		slices.Sort(l.intended)
		for i, at := range l.intended {
			want := math.Sqrt(float64(i)/2.5) * float64(time.Second)
			if math.Abs(float64(at)-want) > float64(time.Microsecond) {
				t.Fatalf("iteration %d intended at %v, want %v", i, at, time.Duration(want))
			}
		}
	})
}
