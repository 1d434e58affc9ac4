package vuhttp_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"spellhost/host/fault"
	"spellhost/host/vuhttp"
	"spellhost/tools"
)

func TestFaults(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("the real body"))
	}))
	t.Cleanup(srv.Close)
	hostport := srv.Listener.Addr().String()
	fs := fault.New(1)
	t.Cleanup(fs.Close)
	c := client(t, vuhttp.Config{Faults: fs})

	for _, tc := range []struct {
		target, terms string
		req           vuhttp.Request
		code, status  int
		network       bool // the request reached the server
		check         func(*vuhttp.Response) bool
	}{
		{"http:*", "status(503)", vuhttp.Request{}, 1503, 503, false, func(r *vuhttp.Response) bool { return !r.Expected && r.Proto == "HTTP/1.1" }},
		{"http:GET", "status(204)", vuhttp.Request{}, 0, 204, false, func(r *vuhttp.Response) bool { return r.Expected && len(r.Body) == 0 }},
		{"http:" + hostport, "reset", vuhttp.Request{}, vuhttp.CodeReset, 0, false, func(r *vuhttp.Response) bool {
			return strings.Contains(r.Err.Error(), "connection reset")
		}},
		{"http:*", "error(timeout)", vuhttp.Request{}, vuhttp.CodeTimeout, 0, false, nil},
		{"http:*", "error(refused)", vuhttp.Request{}, vuhttp.CodeRefused, 0, false, nil},
		{"http:*", "down", vuhttp.Request{}, vuhttp.CodeRefused, 0, false, nil},
		{"http:*", "error(dns)", vuhttp.Request{}, vuhttp.CodeNoSuchHost, 0, false, nil},
		{"http:*", "error(tls)", vuhttp.Request{}, vuhttp.CodeTLS, 0, false, nil},
		{"http:*", "error(reset)", vuhttp.Request{}, vuhttp.CodeReset, 0, false, nil},
		{"http:*", "error(out of cheese)", vuhttp.Request{}, vuhttp.CodeGeneric, 0, false, func(r *vuhttp.Response) bool {
			return strings.Contains(r.Err.Error(), "out of cheese")
		}},
		{"http:*", "throttle(0.001)", vuhttp.Request{}, 0, 200, true, nil}, // the first call is within the rate
		{"http:/users/*", "status(404)", vuhttp.Request{Name: "/orders/{id}"}, 0, 200, true, nil},
		{"http:/users/*", "status(404)", vuhttp.Request{Name: "/users/7"}, 1404, 404, false, nil},
		{"http:POST", "status(500)", vuhttp.Request{}, 0, 200, true, nil},
		{"http:POST", "status(500)", vuhttp.Request{Method: "POST"}, 1500, 500, false, nil},
		{"http:*:1", "status(500)", vuhttp.Request{}, 0, 200, true, nil},
		{"http:*", "truncate(4)", vuhttp.Request{}, 0, 200, true, func(r *vuhttp.Response) bool { return string(r.Body) == "the " }},
		{"http:*", "corrupt", vuhttp.Request{}, 0, 200, true, func(r *vuhttp.Response) bool {
			return len(r.Body) == len("the real body") && string(r.Body) != "the real body"
		}},
		{"http:*", "delay(30ms)", vuhttp.Request{}, 0, 200, true, func(r *vuhttp.Response) bool {
			return r.Timings.Waiting >= 30*time.Millisecond && !r.Injected
		}},
		{"http:*", "hang(20ms)", vuhttp.Request{}, 0, 200, true, func(r *vuhttp.Response) bool { return r.Timings.Waiting >= 20*time.Millisecond }},
		{"http:*", "hang", vuhttp.Request{Timeout: 30 * time.Millisecond}, vuhttp.CodeTimeout, 0, false, nil},
		{"http:*", "delay(1h)", vuhttp.Request{Timeout: 30 * time.Millisecond}, vuhttp.CodeTimeout, 0, false, nil},
		{"http:*", "leak(1KiB)", vuhttp.Request{}, 0, 200, true, nil},
		{"http:*", "off", vuhttp.Request{}, 0, 200, true, nil},
	} {
		name := tc.target + "=" + tc.terms
		if _, err := fs.EnableText(tc.target, tc.terms); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before := hits.Load()
		req := tc.req
		req.URL = srv.URL + "/x"
		r := do(t, c, &req)
		fs.Reset()
		if r.ErrorCode != tc.code || r.Status != tc.status || (hits.Load() > before) != tc.network {
			t.Errorf("%s: code %d status %d err %v, reached the server: %v", name, r.ErrorCode, r.Status, r.Err, hits.Load() > before)
			continue
		}
		if !tc.network && (!r.Injected || r.BytesSent != 0) {
			t.Errorf("%s: injected %v, %d bytes sent", name, r.Injected, r.BytesSent)
		}
		if r.Err != nil && (tools.TypeOf(r.Err) != tools.TypeInjected && !errors.Is(r.Err, vuhttp.ErrTimeout)) {
			t.Errorf("%s: the error %v is not of the injected type", name, r.Err)
		}
		if r.Err != nil && tc.code != vuhttp.CodeTimeout && !fault.IsInjected(r.Err) {
			t.Errorf("%s: %v is not an injected error", name, r.Err)
		}
		checkTimings(t, name, r.Timings)
		if tc.check != nil && !tc.check(r) {
			t.Errorf("%s: unexpected response: %+v, body %q, err %v", name, r.Exchange, r.Body, r.Err)
		}
	}
}
