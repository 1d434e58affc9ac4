//go:build !race

package vuhttp_test

import (
	"testing"

	"spellhost/host/vuhttp"
)

// TestHotPathAllocatesNothing keeps the hot path of a load test (a GET of
// a small body on a kept-alive connection, into a reused Response) free of
// allocations. The race detector allocates, so the test is left out of
// -race builds.
func TestHotPathAllocatesNothing(t *testing.T) {
	url := rawServer(t)
	c := client(t, vuhttp.Config{})
	for _, rt := range []vuhttp.ResponseType{vuhttp.BodyNone, vuhttp.BodyText} {
		req := &vuhttp.Request{URL: url, ResponseType: rt}
		resp := &vuhttp.Response{}
		c.Do(t.Context(), req, resp) // dials, and sizes the buffers
		if n := testing.AllocsPerRun(200, func() { c.Do(t.Context(), req, resp) }); n != 0 || resp.Err != nil {
			t.Errorf("response type %d: %v allocations per request (err %v)", rt, n, resp.Err)
		}
	}
}
