package scenario

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// arrivals is an arrival-rate schedule: offset(i) is when iteration i
// should start, and total is the scenario's length.
type arrivals interface {
	offset(i int64) (time.Duration, bool)
	total() time.Duration
}

// runArrivals starts iterations on the schedule, whatever the VUs are
// doing: an iteration whose time has come while every VU is busy is
// dropped and counted, never delayed (no coordinated omission), and a new
// VU is started in the background if maxVUs allows. Latency is measured
// from the scheduled start.
func runArrivals(ctx context.Context, x *execution, sched arrivals) error {
	sc := x.sc
	start, iter, cancel := phases(ctx, sched.total(), sc.GracefulStop)
	defer cancel()
	// The schedule's time zero is the phase's own, so the last scheduled
	// iteration falls inside the scenario's time.
	begin := time.Now()

	idle := make(chan *arrivalVU, max(sc.MaxVUs, len(x.workers)))
	var wg sync.WaitGroup
	var allocated atomic.Int64
	launch := func(w Worker) {
		v := &arrivalVU{w: w, work: make(chan time.Time, 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for intended := range v.work {
				x.active.Add(1)
				v.w.Iterate(iter, intended)
				x.active.Add(-1)
				idle <- v
			}
		}()
		idle <- v
		allocated.Add(1)
	}
	for _, w := range x.workers {
		launch(w)
	}
	var growing atomic.Bool
	for i := int64(0); ; i++ {
		off, ok := sched.offset(i)
		if !ok {
			break
		}
		if d := time.Until(begin.Add(off)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-start.Done():
				t.Stop()
			}
		}
		if start.Err() != nil {
			// The scenario's time is up while this iteration, scheduled
			// inside it, was still to start (the scheduler ran late):
			// it and the rest of the schedule were due and did not
			// start, so they count as dropped. An interrupt or abort
			// (ctx ended) stops the schedule without counting.
			if ctx.Err() == nil {
				for j := i; ; j++ {
					if _, ok := sched.offset(j); !ok {
						break
					}
					x.dropped()
				}
			}
			break
		}
		select {
		case v := <-idle:
			v.work <- begin.Add(off)
		default:
			x.dropped()
			if allocated.Load() < int64(sc.MaxVUs) && growing.CompareAndSwap(false, true) && x.grow != nil {
				go func() {
					defer growing.Store(false)
					if w, err := x.grow(); err == nil && start.Err() == nil {
						launch(w)
					}
				}()
			}
		}
	}
	// Stop: wait for running iterations (iter bounds them), then let the
	// VU goroutines end.
	<-start.Done()
	for growing.Load() {
		time.Sleep(time.Millisecond)
	}
	for range allocated.Load() {
		v := <-idle
		close(v.work)
	}
	wg.Wait()
	return nil
}

type arrivalVU struct {
	w    Worker
	work chan time.Time
}

// constantArrivalRate starts rate iterations per timeUnit for duration.
type constantArrivalRate struct{ sc *Scenario }

func (e constantArrivalRate) initVUs() int { return e.sc.PreAllocatedVUs }

func (e constantArrivalRate) run(ctx context.Context, x *execution) error {
	return runArrivals(ctx, x, constantSchedule{e.sc})
}

type constantSchedule struct{ sc *Scenario }

func (s constantSchedule) total() time.Duration { return s.sc.Duration }

func (s constantSchedule) offset(i int64) (time.Duration, bool) {
	off := time.Duration(float64(i) * float64(s.sc.TimeUnit) / float64(s.sc.Rate))
	return off, off < s.sc.Duration
}

// rampingArrivalRate changes the rate linearly through the stages.
type rampingArrivalRate struct{ sc *Scenario }

func (e rampingArrivalRate) initVUs() int { return e.sc.PreAllocatedVUs }

func (e rampingArrivalRate) run(ctx context.Context, x *execution) error {
	return runArrivals(ctx, x, newRampSchedule(e.sc))
}

// rampSchedule inverts the cumulative count of a piecewise-linear rate:
// iteration i starts when the integral of the rate reaches i.
type rampArrivals struct {
	segs []rampSeg
	end  time.Duration
}

type rampSeg struct {
	start  time.Duration
	dur    time.Duration
	r0, r1 float64 // iterations per second at the ends
	n0, n1 float64 // cumulative iterations at the ends
}

func newRampSchedule(sc *Scenario) rampArrivals {
	var ra rampArrivals
	perSec := func(r int) float64 { return float64(r) / sc.TimeUnit.Seconds() }
	cur, n := perSec(sc.StartRate), 0.0
	var t time.Duration
	for _, st := range sc.Stages {
		next := perSec(st.Target)
		d := st.Duration.Seconds()
		seg := rampSeg{start: t, dur: st.Duration, r0: cur, r1: next, n0: n}
		n += (cur + next) / 2 * d
		seg.n1 = n
		ra.segs = append(ra.segs, seg)
		t += st.Duration
		cur = next
	}
	ra.end = t
	return ra
}

func (ra rampArrivals) total() time.Duration { return ra.end }

func (ra rampArrivals) offset(i int64) (time.Duration, bool) {
	target := float64(i)
	for _, s := range ra.segs {
		if target >= s.n1 || s.dur == 0 {
			continue
		}
		// Solve n0 + r0*x + (r1-r0)/(2D)*x² = target for x in [0, D].
		d := s.dur.Seconds()
		a := (s.r1 - s.r0) / (2 * d)
		b := s.r0
		c := s.n0 - target
		var x float64
		if math.Abs(a) < 1e-12 {
			x = -c / b
		} else {
			disc := b*b - 4*a*c
			x = (-b + math.Sqrt(math.Max(disc, 0))) / (2 * a)
		}
		x = math.Max(0, math.Min(x, d))
		return s.start + time.Duration(x*float64(time.Second)), true
	}
	return 0, false
}
