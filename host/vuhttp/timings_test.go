package vuhttp_test

import (
	"net/http"
	"strings"
	"testing"

	"spellhost/host/vuhttp"
)

// checkTimings fails unless every phase is non-negative and the duration
// is exactly sending + waiting + receiving.
func checkTimings(t *testing.T, what string, tm vuhttp.Timings) {
	t.Helper()
	for name, d := range map[string]int64{"blocked": int64(tm.Blocked), "connecting": int64(tm.Connecting),
		"tls": int64(tm.TLSHandshaking), "sending": int64(tm.Sending), "waiting": int64(tm.Waiting),
		"receiving": int64(tm.Receiving), "duration": int64(tm.Duration)} {
		if d < 0 {
			t.Errorf("%s: %s is negative: %+v", what, name, tm)
		}
	}
	if tm.Duration != tm.Sending+tm.Waiting+tm.Receiving {
		t.Errorf("%s: duration %v is not sending + waiting + receiving: %+v", what, tm.Duration, tm)
	}
}

func TestTimingPhases(t *testing.T) {
	big := strings.Repeat("x", 256<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(big))
			return
		}
		w.Write([]byte("ok"))
	})
	for name, srv := range servers(t, h) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{})
			for i, path := range []string{"/", "/", "/big", "/big"} {
				r := get(t, c, srv.URL+path)
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				what := name + path
				checkTimings(t, what, r.Timings)
				tm := r.Timings
				// Over HTTP/2 the end of the write is reported by another
				// goroutine, which may see the answer begin first.
				if tm.Duration <= 0 || tm.Waiting <= 0 && name != "https2" || tm.Sending+tm.Waiting <= 0 {
					t.Errorf("%s: no waiting or duration: %+v", what, tm)
				}
				if i == 0 { // the new connection
					if tm.Connecting <= 0 {
						t.Errorf("%s: a new connection with no connecting time: %+v", what, tm)
					}
					if (srv.TLS != nil) != (tm.TLSHandshaking > 0) {
						t.Errorf("%s: TLS handshaking %v", what, tm.TLSHandshaking)
					}
				} else if tm.Connecting != 0 || tm.TLSHandshaking != 0 {
					t.Errorf("%s: a reused connection has dial phases: %+v", what, tm)
				}
				if path == "/big" && len(r.Body) != len(big) {
					t.Fatalf("%s: body of %d bytes", what, len(r.Body))
				}
			}
		})
	}
}
