package scenario

import (
	"context"
	"sync"
)

// constantVUs: a fixed number of VUs loop for a duration.
type constantVUs struct{ sc *Scenario }

func (e constantVUs) initVUs() int { return e.sc.VUs }

func (e constantVUs) run(ctx context.Context, x *execution) error {
	start, iter, cancel := phases(ctx, e.sc.Duration, e.sc.GracefulStop)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range x.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(start, iter, w, x.active, func() bool { return true })
		}()
	}
	wg.Wait()
	return nil
}
