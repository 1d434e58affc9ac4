package scenario

import (
	"context"
	"sync"
	"sync/atomic"
)

// sharedIterations: VUs share a fixed number of iterations, each taking
// the next until none are left or maxDuration passes.
type sharedIterations struct{ sc *Scenario }

func (e sharedIterations) initVUs() int { return e.sc.VUs }

func (e sharedIterations) run(ctx context.Context, x *execution) error {
	start, iter, cancel := phases(ctx, e.sc.MaxDuration, e.sc.GracefulStop)
	defer cancel()
	var taken atomic.Int64
	total := int64(e.sc.Iterations)
	var wg sync.WaitGroup
	for _, w := range x.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(start, iter, w, x.active, func() bool { return taken.Add(1) <= total })
		}()
	}
	wg.Wait()
	return nil
}
