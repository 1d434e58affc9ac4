package vuhttp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Batch sends reqs concurrently and fills resps[i] with the response to
// reqs[i] (a nil entry gets a new Response). At most Config.Batch
// requests are in flight at once, and at most Config.BatchPerHost to one
// host and port. It returns when every request is done; the only error is
// a mismatch of the slices.
func (c *Client) Batch(ctx context.Context, reqs []*Request, resps []*Response) error {
	if len(resps) != len(reqs) {
		return fmt.Errorf("vuhttp: batch of %d requests given %d responses", len(reqs), len(resps))
	}
	for i := range resps {
		if resps[i] == nil {
			resps[i] = &Response{}
		}
		if reqs[i] == nil {
			return fmt.Errorf("vuhttp: batch request %d is nil", i)
		}
	}
	// One slot channel per host and port; a request whose URL does not
	// parse needs none (it fails at once).
	hosts := make(map[poolKey]chan struct{})
	slots := make([]chan struct{}, len(reqs))
	for i, r := range reqs {
		t, err := c.target(r.URL)
		if err != nil {
			continue
		}
		ch := hosts[t.key]
		if ch == nil {
			ch = make(chan struct{}, c.cfg.BatchPerHost)
			hosts[t.key] = ch
		}
		slots[i] = ch
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c.cfg.Batch, len(reqs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				slot := slots[i]
				if slot != nil {
					select {
					case slot <- struct{}{}:
					case <-ctx.Done():
						slot = nil // Do fails at once on the ended context
					}
				}
				c.Do(ctx, reqs[i], resps[i])
				if slot != nil {
					<-slot
				}
			}
		})
	}
	wg.Wait()
	return nil
}
