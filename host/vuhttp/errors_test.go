package vuhttp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/host/vuhttp"
	"spellhost/tools/perm"
)

func TestExpectedStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	c := client(t, vuhttp.Config{})
	for _, tc := range []struct {
		status   int
		ranges   []vuhttp.StatusRange
		expected bool
		code     int
	}{
		{200, nil, true, 0},
		{204, nil, true, 0},
		{399, nil, true, 0},
		{404, nil, false, 1404},
		{503, nil, false, 1503},
		{404, []vuhttp.StatusRange{{404, 404}}, true, 1404},
		{200, []vuhttp.StatusRange{{404, 404}, {500, 599}}, false, 0},
		{503, []vuhttp.StatusRange{{404, 404}, {500, 599}}, true, 1503},
	} {
		r := do(t, c, &vuhttp.Request{URL: srv.URL + "/" + strconv.Itoa(tc.status), ExpectedStatuses: tc.ranges, Redirects: vuhttp.NoRedirects})
		if r.Err != nil || r.Status != tc.status || r.Expected != tc.expected || r.ErrorCode != tc.code {
			t.Errorf("%d with %v: err %v status %d expected %v code %d", tc.status, tc.ranges, r.Err, r.Status, r.Expected, r.ErrorCode)
		}
	}
	c2 := client(t, vuhttp.Config{ExpectedStatuses: []vuhttp.StatusRange{{200, 200}}})
	if r := get(t, c2, srv.URL+"/201"); r.Expected {
		t.Error("the config's expected statuses were not used")
	}
}

func TestTimeoutAndInterruption(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	c := client(t, vuhttp.Config{})
	for _, path := range []string{"/", "/slow-body"} {
		r := do(t, c, &vuhttp.Request{URL: srv.URL + path, Timeout: 50 * time.Millisecond})
		if r.ErrorCode != vuhttp.CodeTimeout || !errors.Is(r.Err, vuhttp.ErrTimeout) || !strings.Contains(r.Err.Error(), "50ms") {
			t.Errorf("%s: code %d err %v", path, r.ErrorCode, r.Err)
		}
		checkTimings(t, path, r.Timings)
	}
	c2 := client(t, vuhttp.Config{Timeout: 30 * time.Millisecond})
	if r := get(t, c2, srv.URL); r.ErrorCode != vuhttp.CodeTimeout {
		t.Errorf("the config's timeout: code %d err %v", r.ErrorCode, r.Err)
	}

	// The end of the context interrupts a request in flight.
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan *vuhttp.Response)
	go func() {
		r := &vuhttp.Response{}
		c.Do(ctx, &vuhttp.Request{URL: srv.URL}, r)
		done <- r
	}()
	cancel(errors.New("the VU stops"))
	select {
	case r := <-done:
		if r.Err == nil || r.ErrorCode == vuhttp.CodeTimeout || !strings.Contains(r.Err.Error(), "the VU stops") {
			t.Fatalf("interrupted: code %d err %v", r.ErrorCode, r.Err)
		}
	case <-time.After(time.Minute): // catches a hang only
		t.Fatal("cancelling the context did not interrupt the request")
	}
	// An ended context sends nothing.
	r := &vuhttp.Response{}
	c.Do(ctx, &vuhttp.Request{URL: srv.URL}, r)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "not sent") {
		t.Fatalf("ended context: %v", r.Err)
	}
	// The context's deadline, sooner than the request's timeout, ends it too.
	dctx, dcancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
	defer dcancel()
	r = &vuhttp.Response{}
	c.Do(dctx, &vuhttp.Request{URL: srv.URL}, r)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "interrupted") || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: code %d err %v", r.ErrorCode, r.Err)
	}
}

func TestNetworkErrors(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c := client(t, vuhttp.Config{})
	if r := get(t, c, "http://"+closed+"/"); r.ErrorCode != vuhttp.CodeRefused || r.Status != 0 || r.Expected {
		t.Errorf("refused: code %d err %v", r.ErrorCode, r.Err)
	}

	// A server that resets the connection as soon as the request arrives.
	rst, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rst.Close() })
	go func() {
		for {
			conn, err := rst.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1024)
			conn.Read(buf)
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}()
	if r := get(t, c, "http://"+rst.Addr().String()+"/"); r.ErrorCode != vuhttp.CodeReset {
		t.Errorf("reset: code %d err %v", r.ErrorCode, r.Err)
	}

	// Bad URLs.
	for _, u := range []string{"ftp://127.0.0.1/", "/relative", "http://", "http://[::1", "http://127.0.0.1/a\x00b", "http://127.0.0.1:99999/"} {
		r := get(t, c, u)
		if r.ErrorCode != vuhttp.CodeInvalidURL && r.ErrorCode != vuhttp.CodeDeniedAddress {
			t.Errorf("%q: code %d err %v", u, r.ErrorCode, r.Err)
		}
		if r.Err == nil || r.Status != 0 {
			t.Errorf("%q: err %v status %d", u, r.Err, r.Status)
		}
	}
	// The password of a URL that does not parse shows nowhere.
	r := get(t, c, "http://user:hunter2@127.0.0.1:badport/")
	if r.ErrorCode != vuhttp.CodeInvalidURL || strings.Contains(r.Err.Error(), "hunter2") || strings.Contains(r.URL, "hunter2") ||
		strings.Contains(r.Name, "hunter2") || errors.Unwrap(r.Err) == nil || strings.Contains(errors.Unwrap(r.Err).Error(), "hunter2") {
		t.Errorf("bad URL with a password: url %q err %v", r.URL, r.Err)
	}
	// Bad requests are refused before anything is sent.
	for _, req := range []*vuhttp.Request{
		{Method: "GE T", URL: "http://127.0.0.1/"},
		{URL: "http://127.0.0.1/", Header: http.Header{"X-Bad": {"a\r\nInjected: yes"}}},
		{URL: "http://127.0.0.1/", Header: http.Header{"Bad Name": {"x"}}},
		{URL: "http://127.0.0.1/", Cookies: []vuhttp.Cookie{{Name: "a", Value: "x; injected=1"}}},
	} {
		if r := do(t, c, req); r.ErrorCode != vuhttp.CodeGeneric || r.Err == nil {
			t.Errorf("%+v: code %d err %v", req, r.ErrorCode, r.Err)
		}
	}
	// Names are refused without a lookup, addresses too.
	if r := get(t, c, "http://example.test/"); r.ErrorCode != vuhttp.CodeDeniedHost || !errors.Is(r.Err, perm.ErrDenied) {
		t.Errorf("denied name: code %d err %v", r.ErrorCode, r.Err)
	}
	if r := get(t, c, "http://192.0.2.1/"); r.ErrorCode != vuhttp.CodeDeniedAddress {
		t.Errorf("denied address: code %d err %v", r.ErrorCode, r.Err)
	}
	if r := get(t, c, "http://127.1/"); r.ErrorCode != vuhttp.CodeInvalidURL {
		t.Errorf("numeric name: code %d err %v", r.ErrorCode, r.Err)
	}
}

func TestTLSErrors(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	quiet(srv).StartTLS()
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	// The test certificate is for 127.0.0.1, ::1 and example.com.
	untrusting := client(t, vuhttp.Config{})
	if r := get(t, untrusting, srv.URL); r.ErrorCode != vuhttp.CodeUnknownAuthority {
		t.Errorf("unknown authority: code %d err %v", r.ErrorCode, r.Err)
	}
	trusting := tlsClient(t, srv, vuhttp.Config{})
	if r := get(t, trusting, "https://localhost"+port+"/"); r.ErrorCode != vuhttp.CodeCertHostname {
		t.Errorf("wrong host: code %d err %v", r.ErrorCode, r.Err)
	}
	insecure := client(t, vuhttp.Config{InsecureSkipTLSVerify: true})
	if r := get(t, insecure, "https://localhost"+port+"/"); r.Err != nil || r.Status != 200 {
		t.Errorf("insecureSkipTLSVerify: code %d err %v", r.ErrorCode, r.Err)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)
	if r := get(t, insecure, "https"+plain.URL[len("http"):]); r.ErrorCode != vuhttp.CodeTLSHeader {
		t.Errorf("TLS to a plain server: code %d err %v", r.ErrorCode, r.Err)
	}
	// A server that offers only TLS 1.2 and a client that wants 1.3.
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	old.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	quiet(old).StartTLS()
	t.Cleanup(old.Close)
	strict := client(t, vuhttp.Config{InsecureSkipTLSVerify: true, TLSMinVersion: tls.VersionTLS13})
	if r := get(t, strict, old.URL); r.ErrorCode < 1300 || r.ErrorCode > 1399 {
		t.Errorf("TLS version refused: code %d err %v", r.ErrorCode, r.Err)
	}
	if _, err := vuhttp.NewClient(vuhttp.Config{Perm: loopback(t), TLSMinVersion: tls.VersionTLS13, TLSMaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("a max version below the min was accepted")
	}
	if _, err := vuhttp.NewClient(vuhttp.Config{}); !errors.Is(err, vuhttp.ErrNoPerm) {
		t.Errorf("no Perm: %v", err)
	}
}
