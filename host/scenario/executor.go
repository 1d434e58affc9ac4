package scenario

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Worker is one VU as an executor sees it: something that runs one
// iteration. intended is when the schedule wanted the iteration to start
// (arrival-rate executors measure latency from it, so a late start counts
// against the kernel, not the harness).
type Worker interface {
	Iterate(ctx context.Context, intended time.Time)
}

// execution is what an executor gets to work with.
type execution struct {
	sc *Scenario
	// workers are the VUs initialised before the scenario started.
	workers []Worker
	// grow starts one more VU (arrival-rate executors, up to MaxVUs).
	grow func() (Worker, error)
	// dropped counts an iteration the schedule wanted but no VU could run.
	dropped func()
	// active tracks the number of VUs running iterations.
	active *atomic.Int64
}

// executor runs one scenario's schedule.
type executor interface {
	// initVUs is how many VUs to initialise before the scenario starts.
	initVUs() int
	// run drives the schedule until it completes or ctx ends.
	run(ctx context.Context, x *execution) error
}

func newExecutor(sc *Scenario) (executor, error) {
	switch sc.Executor {
	case SharedIterations:
		return sharedIterations{sc}, nil
	case PerVUIterations:
		return perVUIterations{sc}, nil
	case ConstantVUs:
		return constantVUs{sc}, nil
	case RampingVUs:
		return rampingVUs{sc}, nil
	case ConstantArrivalRate:
		return constantArrivalRate{sc}, nil
	case RampingArrivalRate:
		return rampingArrivalRate{sc}, nil
	}
	return nil, optErr("unknown executor %q", sc.Executor)
}

// phases splits a scenario's time: new iterations may start until the
// returned start context ends (after d, or when ctx ends); running ones may
// go on until the iteration context ends, gracefulStop later.
func phases(ctx context.Context, d, gracefulStop time.Duration) (start, iter context.Context, cancel func()) {
	iter, cancelIter := context.WithCancelCause(ctx)
	start, cancelStart := context.WithTimeout(iter, d)
	var once sync.Once
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(start, func() {
		mu.Lock()
		defer mu.Unlock()
		once.Do(func() {
			timer = time.AfterFunc(gracefulStop, func() {
				cancelIter(fmt.Errorf("gracefulStop of %v ran out", gracefulStop))
			})
		})
	})
	return start, iter, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancelStart()
		cancelIter(nil)
	}
}

// loop runs iterations on w until next says stop or ctx ends.
func loop(start, iter context.Context, w Worker, active *atomic.Int64, next func() bool) {
	active.Add(1)
	defer active.Add(-1)
	for start.Err() == nil && next() {
		w.Iterate(iter, time.Now())
	}
}
