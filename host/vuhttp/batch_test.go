package vuhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"spellhost/host/vuhttp"
)

// gate is a handler that holds every request until the test lets one go,
// and records how many were in flight at once, per server and in all.
type gate struct {
	mu       sync.Mutex
	inFlight map[string]int
	total    int
	maxHost  map[string]int
	maxTotal int
	arrived  chan struct{}
	release  chan struct{}
}

func newGate() *gate {
	return &gate{inFlight: map[string]int{}, maxHost: map[string]int{},
		arrived: make(chan struct{}, 1000), release: make(chan struct{})}
}

func (g *gate) handler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inFlight[host]++
		g.total++
		g.maxHost[host] = max(g.maxHost[host], g.inFlight[host])
		g.maxTotal = max(g.maxTotal, g.total)
		g.mu.Unlock()
		g.arrived <- struct{}{}
		<-g.release
		g.mu.Lock()
		g.inFlight[host]--
		g.total--
		g.mu.Unlock()
		w.Write([]byte(r.URL.Query().Get("id")))
	})
}

func (g *gate) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

func TestBatchBounds(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		batch, perHost, want int // want: the most in flight at once
	}{
		{"batch", 3, 10, 3},
		{"per host", 10, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			srv := httptest.NewServer(g.handler("a"))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(g.release) }) // frees the handlers should the test fail
			const n = 12
			c := client(t, vuhttp.Config{Batch: tc.batch, BatchPerHost: tc.perHost})
			reqs := make([]*vuhttp.Request, n)
			for i := range reqs {
				reqs[i] = &vuhttp.Request{URL: srv.URL + "/?id=" + strconv.Itoa(i)}
			}
			resps := make([]*vuhttp.Response, n)
			done := make(chan error, 1)
			go func() { done <- c.Batch(context.Background(), reqs, resps) }()
			// Let the requests go one at a time, each time the most that may
			// be in flight have arrived: a request over the bound would
			// arrive while the others are held, and raise the maximum.
			timeout := time.After(time.Minute) // catches a hang only
			for left := n; left > 0; left-- {
				for g.current() < min(tc.want, left) {
					select {
					case <-g.arrived:
					case <-timeout:
						t.Fatalf("stuck with %d in flight, %d left", g.current(), left)
					}
				}
				g.release <- struct{}{}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if g.maxTotal != tc.want {
				t.Fatalf("at most %d in flight, want %d", g.maxTotal, tc.want)
			}
			for i, r := range resps {
				if r.Err != nil || string(r.Body) != strconv.Itoa(i) {
					t.Errorf("response %d: err %v body %q", i, r.Err, r.Body)
				}
			}
		})
	}
}

func TestBatchDefaultsAndBadInput(t *testing.T) {
	srv := servers(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.Path)) }))
	for name, s := range srv {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, s, vuhttp.Config{})
			reqs := []*vuhttp.Request{{URL: s.URL + "/0"}, {URL: "nope"}, {URL: s.URL + "/2", Method: "POST"}}
			for i := 3; i < 40; i++ {
				reqs = append(reqs, &vuhttp.Request{URL: s.URL + "/" + strconv.Itoa(i)})
			}
			resps := make([]*vuhttp.Response, len(reqs))
			if err := c.Batch(context.Background(), reqs, resps); err != nil {
				t.Fatal(err)
			}
			for i, r := range resps {
				if i == 1 {
					if r.ErrorCode != vuhttp.CodeInvalidURL {
						t.Errorf("bad URL: code %d", r.ErrorCode)
					}
					continue
				}
				if r.Err != nil || string(r.Body) != "/"+strconv.Itoa(i) {
					t.Errorf("%d: err %v body %q", i, r.Err, r.Body)
				}
			}
			if err := c.Batch(context.Background(), reqs, resps[:1]); err == nil {
				t.Error("mismatched slices accepted")
			}
			if err := c.Batch(context.Background(), []*vuhttp.Request{nil}, make([]*vuhttp.Response, 1)); err == nil {
				t.Error("a nil request accepted")
			}
		})
	}
}

func TestTrafficAndReuse(t *testing.T) {
	for name, srv := range servers(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("abc")) })) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{})
			var sent, recv int64
			for range 3 {
				r := get(t, c, srv.URL)
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				sent += r.BytesSent
				recv += r.BytesReceived
			}
			ts, tr := c.Traffic()
			if name != "https2" && (ts != sent || tr != recv) { // HTTP/2 moves frames between exchanges too
				t.Fatalf("exchanges moved %d/%d bytes, the client %d/%d", sent, recv, ts, tr)
			}
			if ts == 0 || tr == 0 || ts < sent || tr < recv {
				t.Fatalf("traffic %d/%d, exchanges %d/%d", ts, tr, sent, recv)
			}
			// Without reuse, every request dials.
			c2 := clientFor(t, srv, vuhttp.Config{NoConnectionReuse: true})
			for range 2 {
				if r := get(t, c2, srv.URL); r.Err != nil || (r.Timings.Connecting == 0 && name != "https2") {
					t.Fatalf("no reuse: err %v connecting %v", r.Err, r.Timings.Connecting)
				}
			}
			// HTTP/2 can be refused.
			c3 := clientFor(t, srv, vuhttp.Config{DisableHTTP2: true})
			if r := get(t, c3, srv.URL); r.Err != nil || r.Proto != "HTTP/1.1" {
				t.Fatalf("DisableHTTP2: err %v proto %q", r.Err, r.Proto)
			}
			c.CloseIdle()
			if r := get(t, c, srv.URL); r.Err != nil || r.Timings.Connecting == 0 {
				t.Fatalf("after CloseIdle: err %v connecting %v", r.Err, r.Timings.Connecting)
			}
			c.Close()
			if r := get(t, c, srv.URL); r.Err == nil {
				t.Fatal("a closed client sent a request")
			}
		})
	}
}

func TestServerClosesConnections(t *testing.T) {
	for name, srv := range servers(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{})
			for i := range 5 {
				if r := get(t, c, srv.URL); r.Err != nil || string(r.Body) != "ok" {
					t.Fatalf("request %d after the server closed its connections: %v", i, r.Err)
				}
				srv.CloseClientConnections()
			}
		})
	}
}
