package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// enable sets the net:server rule for the test.
func (ts *testServer) enable(terms string) {
	ts.t.Helper()
	ts.faults.Reset()
	if _, err := ts.faults.EnableText("net:server", terms); err != nil {
		ts.t.Fatal(err)
	}
}

// hits is how often the net:server rule fired.
func (ts *testServer) hits() int64 {
	for _, in := range ts.faults.List() {
		if in.Target == "net:server" {
			return in.Hits
		}
	}
	return -1
}

// rawGet sends a GET as alice on a new connection and returns the status
// code, the announced length, the body bytes received, and the read error
// that ended them (nil at the announced length).
func rawGet(t *testing.T, addr, path string) (code int, announced int, body []byte, err error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+aliceKey+"\r\nX-Request-ID: same-id\r\n\r\n")
	br := bufio.NewReader(c)
	announced = -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return code, announced, nil, err
		}
		switch {
		case strings.HasPrefix(line, "HTTP/1.1 "):
			code, _ = strconv.Atoi(line[9:12])
		case strings.HasPrefix(line, "Content-Length: "):
			announced, _ = strconv.Atoi(strings.TrimSpace(line[16:]))
		case line == "\r\n":
			body = make([]byte, max(announced, 0))
			n, err := io.ReadFull(br, body)
			return code, announced, body[:n], err
		}
	}
}

func TestFaultStatusAndError(t *testing.T) {
	ts := start(t, nil)
	ts.enable("1*status(503)->1*status(429)->1*error(timeout)->1*down->off")
	r := ts.must(ts.do("GET", "/v1/tools/calculator", ""), 503, "injected")
	if r.header.Get("Retry-After") != "1" || !strings.Contains(r.env.Error.Message, "injected status 503 (fault net:server=") {
		t.Fatalf("status(503): %v %s", r.header, r.body)
	}
	ts.must(ts.do("GET", "/v1/tools/calculator", ""), 429, "injected")
	ts.must(ts.do("POST", "/v1/request", `{"command": "list"}`), 504, "injected")
	ts.must(ts.do("GET", "/v1/tools/calculator", ""), 503, "injected")
	ts.must(ts.do("GET", "/v1/tools/calculator", ""), 200, "")
	if ts.hits() != 4 {
		t.Fatalf("hits %d", ts.hits())
	}
}

// TestFaultsSpareProbes: the probes and the metrics answer whatever the
// rules say, so a scrape sees the truth.
func TestFaultsSpareProbes(t *testing.T) {
	ts := start(t, nil)
	ts.enable("drop")
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		ts.must(ts.do("GET", p, ""), 200, "")
	}
	if ts.hits() != 0 {
		t.Fatalf("the rule fired %d times on probes", ts.hits())
	}
}

func TestFaultDelayAndHang(t *testing.T) {
	ts := start(t, nil)
	ts.enable("1*delay(20ms)->hang")
	ts.must(ts.do("GET", "/v1/tools/calculator", ""), 200, "")
	// hang holds the request until the client gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/v1/tools/calculator", nil)
	req.Header.Set("Authorization", "Bearer "+aliceKey)
	if res, err := ts.client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("a hung request answered %d", res.StatusCode)
	}
	ts.waitInFlight(0)
	m := string(ts.do("GET", "/metrics", "").body)
	for _, want := range []string{`spellhost_http_faults_injected_total{kind="delay"} 1`, `spellhost_http_faults_injected_total{kind="hang"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics miss %s:\n%s", want, grep(m, "faults"))
		}
	}
}

func TestFaultDropAndReset(t *testing.T) {
	ts := start(t, nil)
	ts.enable("1*drop->1*reset->off")
	code, _, _, err := rawGet(t, ts.addr, "/v1/tools/calculator")
	if code != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("drop: status %d, %v; want no answer and EOF", code, err)
	}
	code, _, _, err = rawGet(t, ts.addr, "/v1/tools/calculator")
	if code != 0 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reset: status %d, %v; want a connection reset", code, err)
	}
	if _, err := ts.try("GET", "/v1/tools/calculator", ""); err != nil {
		t.Fatalf("after the chain: %v", err)
	}
	m := string(ts.do("GET", "/metrics", "").body)
	for _, want := range []string{`code="drop",route="GET /v1/tools/{name}"} 1`, `code="reset",route="GET /v1/tools/{name}"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics miss %s", want)
		}
	}
}

func TestFaultPartialSlowCorrupt(t *testing.T) {
	ts := start(t, nil)
	_, n, clean, err := rawGet(t, ts.addr, "/v1/tools/calculator")
	if err != nil || n != len(clean) || n < 100 {
		t.Fatalf("clean reply: %d of %d bytes, %v", len(clean), n, err)
	}

	ts.enable("1*partial(10)->1*partial->off")
	code, n, got, err := rawGet(t, ts.addr, "/v1/tools/calculator")
	if code != 200 || n != len(clean) || len(got) != 10 || !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != string(clean[:10]) {
		t.Fatalf("partial(10): %d, announced %d, got %d bytes (%v)", code, n, len(got), err)
	}
	_, _, got, err = rawGet(t, ts.addr, "/v1/tools/calculator")
	if len(got) != len(clean)/2 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial: got %d of %d bytes (%v)", len(got), len(clean), err)
	}
	// Go's client reports the short body as an error.
	if _, err := ts.try("GET", "/v1/tools/calculator", ""); err != nil {
		t.Fatalf("after the chain: %v", err)
	}

	ts.enable("slow(4KiB)")
	_, _, got, err = rawGet(t, ts.addr, "/v1/tools/calculator")
	if err != nil || string(got) != string(clean) {
		t.Fatalf("slow: %d of %d bytes, %v", len(got), len(clean), err)
	}

	ts.enable("corrupt")
	_, n, got, err = rawGet(t, ts.addr, "/v1/tools/calculator")
	diff := 0
	for i := range min(len(got), len(clean)) {
		if got[i] != clean[i] {
			diff++
		}
	}
	if err != nil || n != len(clean) || len(got) != len(clean) || diff != 1 {
		t.Fatalf("corrupt: %d bytes, %d differ, %v", len(got), diff, err)
	}

	ts.enable("1*partial(5)->off")
	if _, err := ts.try("GET", "/v1/tools/calculator", ""); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("a cut body read by Go's client: %v", err)
	}
	m := string(ts.do("GET", "/metrics", "").body)
	for _, k := range []string{"partial", "slow", "corrupt"} {
		if !strings.Contains(m, `spellhost_http_faults_injected_total{kind="`+k+`"}`) {
			t.Errorf("metrics miss %s", k)
		}
	}
}

// TestFaultProbabilityIsSeeded: a 50% drop over many requests drops as
// many as the rule counts, the same ones for the same seed.
func TestFaultProbabilityIsSeeded(t *testing.T) {
	run := func() []bool {
		ts := start(t, nil)
		ts.enable("50%drop")
		out := make([]bool, 40)
		for i := range out {
			// A raw connection each: Go's client would retry a dropped GET.
			code, _, _, _ := rawGet(t, ts.addr, "/v1/tools/calculator")
			out[i] = code == 0
		}
		n := 0
		for _, d := range out {
			if d {
				n++
			}
		}
		if int64(n) != ts.hits() || n == 0 || n == len(out) {
			t.Fatalf("%d of %d dropped, the rule counts %d", n, len(out), ts.hits())
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("the same seed dropped different requests: %v %v", a, b)
		}
	}
}
