package scenario

import (
	"context"
	"sync"
)

// perVUIterations: each VU runs its own fixed number of iterations, within
// maxDuration.
type perVUIterations struct{ sc *Scenario }

func (e perVUIterations) initVUs() int { return e.sc.VUs }

func (e perVUIterations) run(ctx context.Context, x *execution) error {
	start, iter, cancel := phases(ctx, e.sc.MaxDuration, e.sc.GracefulStop)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range x.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			left := e.sc.Iterations
			loop(start, iter, w, x.active, func() bool { left--; return left >= 0 })
		}()
	}
	wg.Wait()
	return nil
}
