package scenario

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// rampingVUs: the number of looping VUs follows the stages, changing
// linearly within each. A VU that is no longer wanted finishes its
// iteration, which is interrupted if it takes longer than gracefulRampDown.
type rampingVUs struct{ sc *Scenario }

// vuChange is a point where the wanted number of VUs changes.
type vuChange struct {
	at     time.Duration
	target int
}

// rampSchedule returns every change of the wanted VU count, in order, and
// the total duration. Within a stage from a to b VUs over d, the count
// becomes k at d*(k-a)/(b-a): VUs are added or removed one at a time.
func rampSchedule(startVUs int, stages []Stage) ([]vuChange, time.Duration) {
	changes := []vuChange{{0, startVUs}}
	var t time.Duration
	cur := startVUs
	for _, st := range stages {
		a, b := cur, st.Target
		if a == b || st.Duration == 0 {
			t += st.Duration
			if a != b {
				changes = append(changes, vuChange{t, b})
			}
			cur = b
			continue
		}
		step := 1
		if b < a {
			step = -1
		}
		for k := a + step; ; k += step {
			frac := float64(k-a) / float64(b-a)
			if step < 0 {
				// Removing: the count drops from k+1 to k once the line
				// falls below k+1.
				frac = float64(k+1-a) / float64(b-a)
			}
			changes = append(changes, vuChange{t + time.Duration(frac*float64(st.Duration)), k})
			if k == b {
				break
			}
		}
		t += st.Duration
		cur = b
	}
	return changes, t
}

func (e rampingVUs) initVUs() int {
	n := e.sc.StartVUs
	for _, st := range e.sc.Stages {
		n = max(n, st.Target)
	}
	return n
}

func (e rampingVUs) run(ctx context.Context, x *execution) error {
	changes, total := rampSchedule(e.sc.StartVUs, e.sc.Stages)
	start, iter, cancel := phases(ctx, total, e.sc.GracefulStop)
	defer cancel()

	r := &ramp{target: 0}
	r.cond = sync.NewCond(&r.mu)
	slots := make([]*rampSlot, len(x.workers))
	var wg sync.WaitGroup
	for i, w := range x.workers {
		slots[i] = &rampSlot{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runSlot(start, iter, i, w, slots[i], x)
		}()
	}
	var timers []*time.Timer
	// The controller follows the schedule.
	begin := time.Now()
	for _, c := range changes {
		if d := time.Until(begin.Add(c.at)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-start.Done():
				t.Stop()
			}
		}
		if start.Err() != nil {
			break
		}
		prev := r.set(c.target)
		// VUs no longer wanted finish their iteration, or are interrupted
		// after gracefulRampDown.
		for i := c.target; i < prev && i < len(slots); i++ {
			timers = append(timers, slots[i].interruptAfter(e.sc.GracefulRampDown))
		}
	}
	<-start.Done()
	r.finish()
	wg.Wait()
	for _, t := range timers {
		t.Stop()
	}
	return nil
}

// ramp is the wanted number of VUs, shared by the controller and the slots.
type ramp struct {
	mu     sync.Mutex
	cond   *sync.Cond
	target int
	done   bool
}

func (r *ramp) set(n int) (prev int) {
	r.mu.Lock()
	prev, r.target = r.target, n
	r.cond.Broadcast()
	r.mu.Unlock()
	return prev
}

func (r *ramp) finish() {
	r.mu.Lock()
	r.done = true
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *ramp) wanted(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return i < r.target
}

// rampSlot is one VU's running iteration, so ramp-down can interrupt it.
type rampSlot struct {
	mu     sync.Mutex
	gen    int64
	cancel context.CancelCauseFunc
}

// interruptAfter interrupts the iteration running now, if it still runs
// after d.
func (s *rampSlot) interruptAfter(d time.Duration) *time.Timer {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	return time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen == gen && s.cancel != nil {
			s.cancel(fmt.Errorf("gracefulRampDown of %v ran out", d))
		}
	})
}

// runSlot is VU i: it iterates while fewer than target VUs are below it,
// and waits while it is not wanted.
func (r *ramp) runSlot(start, iter context.Context, i int, w Worker, slot *rampSlot, x *execution) {
	for {
		r.mu.Lock()
		for !r.done && i >= r.target {
			r.cond.Wait()
		}
		stop := r.done
		r.mu.Unlock()
		if stop || start.Err() != nil {
			return
		}
		x.active.Add(1)
		for start.Err() == nil && r.wanted(i) {
			ictx, cancel := context.WithCancelCause(iter)
			slot.mu.Lock()
			slot.gen++
			slot.cancel = cancel
			slot.mu.Unlock()
			w.Iterate(ictx, time.Now())
			slot.mu.Lock()
			slot.cancel = nil
			slot.mu.Unlock()
			cancel(nil)
		}
		x.active.Add(-1)
	}
}
