package vuhttp_test

import (
	"net/http"
	"strings"
	"testing"

	"spellhost/host/vuhttp"
)

func TestResponseFields(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Agent", r.UserAgent())
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(201)
		w.Write([]byte("hello " + r.URL.Query().Get("who")))
	})
	for name, srv := range servers(t, h) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{})
			url := srv.URL + "/fields?who=vu"
			for i := range 2 { // a new connection, then a reused one
				r := get(t, c, url)
				if r.Err != nil {
					t.Fatalf("request %d: %v", i, r.Err)
				}
				wantProto := "HTTP/1.1"
				if name == "https2" {
					wantProto = "HTTP/2.0"
				}
				if r.Status != 201 || r.Proto != wantProto || r.URL != url || r.Name != url || r.Method != "GET" {
					t.Fatalf("request %d: status %d proto %q url %q name %q method %q", i, r.Status, r.Proto, r.URL, r.Name, r.Method)
				}
				if string(r.Body) != "hello vu" || r.BodySize != 8 {
					t.Fatalf("body %q size %d", r.Body, r.BodySize)
				}
				if r.HeaderValue("x-method") != "GET" || r.HeaderValue("X-Agent") != "spellhost" {
					t.Fatalf("headers %v", r.Header())
				}
				if got := strings.Join(r.Header()["X-Multi"], ","); got != "a,b" {
					t.Fatalf("X-Multi %q", got)
				}
				if r.ErrorCode != 0 || !r.Expected || r.Injected || len(r.Hops) != 0 {
					t.Fatalf("code %d expected %v injected %v hops %d", r.ErrorCode, r.Expected, r.Injected, len(r.Hops))
				}
				if r.BytesSent <= 0 || r.BytesReceived <= int64(len(r.Body)) {
					t.Fatalf("bytes sent %d received %d", r.BytesSent, r.BytesReceived)
				}
				if r.Peer.String() != srv.Listener.Addr().String() {
					t.Fatalf("peer %v, want %v", r.Peer, srv.Listener.Addr())
				}
				if srv.TLS != nil && (r.TLSVersion != "tls1.3" || !strings.HasPrefix(r.TLSCipherSuite, "TLS_")) ||
					srv.TLS == nil && (r.TLSVersion != "" || r.TLSCipherSuite != "") {
					t.Fatalf("TLS version %q suite %q", r.TLSVersion, r.TLSCipherSuite)
				}
				tm := r.Timings
				if tm.Duration != tm.Sending+tm.Waiting+tm.Receiving {
					t.Fatalf("timings %+v do not sum", tm)
				}
			}
		})
	}
}

func TestScriptHeaders(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Join(r.Header["User-Agent"], "|") + " " + r.Host + " " + r.Header.Get("X-Custom") +
			" " + r.Header.Get("Accept-Encoding") + " " + r.Header.Get("Authorization")))
	})
	for name, srv := range servers(t, h) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{UserAgent: "k6-port/1.0"})
			r := get(t, c, srv.URL)
			host := srv.Listener.Addr().String()
			if string(r.Body) != "k6-port/1.0 "+host+"  gzip, deflate " {
				t.Errorf("defaults: %q", r.Body)
			}
			// Names in any case replace the defaults; none is sent twice.
			hdr := http.Header{"user-agent": {"mine"}, "x-custom": {"v"}, "accept-encoding": {"br"},
				"authorization": {"Bearer t"}, "content-length": {"999"}, "host": {"virtual.test"}}
			r = do(t, c, &vuhttp.Request{URL: srv.URL, Header: hdr})
			if r.Err != nil || string(r.Body) != "mine virtual.test v br Bearer t" {
				t.Errorf("script headers: err %v body %q", r.Err, r.Body)
			}
		})
	}
}
