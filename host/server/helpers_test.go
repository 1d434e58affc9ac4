package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/server"
	"spellhost/host/task"
	"spellhost/tools"
	"spellhost/tools/builtin"
	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Test keys.
const (
	aliceKey = "alice-0123456789abcdef"
	bobKey   = "bob-fedcba9876543210xyz"
)

// gates are the test's "gate" tool: a call blocks until the test opens its
// gate (by the call's "gate" parameter) or its context ends, and reports
// that it started and how it ended.
type gates struct {
	mu      sync.Mutex
	open    map[string]chan struct{}
	started chan string
	ended   chan string // "name:ok" or "name:cancelled"
}

func newGates() *gates {
	return &gates{open: map[string]chan struct{}{}, started: make(chan string, 64), ended: make(chan string, 64)}
}

func (g *gates) ch(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.open[name]
	if !ok {
		c = make(chan struct{})
		g.open[name] = c
	}
	return c
}

// release opens a gate.
func (g *gates) release(name string) { close(g.ch(name)) }

func (g *gates) tool() tools.Tool {
	return tools.New(tools.Spec{Name: "gate", Category: "test", Description: "blocks until the test opens its gate",
		Params: []tools.Param{{Name: "gate", Type: tools.String, Required: true, Description: "the gate's name"}}},
		func(ctx context.Context, p tools.Params) (any, error) {
			name := p.String("gate")
			g.started <- name
			select {
			case <-g.ch(name):
				g.ended <- name + ":ok"
				return map[string]any{"passed": name}, nil
			case <-ctx.Done():
				g.ended <- name + ":cancelled"
				return nil, ctx.Err()
			}
		})
}

// wait receives from ch or fails the test after a deadline that only
// catches hangs.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// testServer is a real server on 127.0.0.1 and a random port.
type testServer struct {
	t      testing.TB
	srv    *server.Server
	k      *kernel.Kernel
	faults *fault.Set
	gates  *gates
	url    string
	addr   string
	client *http.Client
	log    *syncBuffer
	served chan error
}

// syncBuffer is a buffer safe for the server's log and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts a server with keys for alice and bob; edit changes the
// config first.
func start(t testing.TB, edit func(*server.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := builtin.NewRegistry(builtin.Config{Perm: p})
	if err != nil {
		t.Fatal(err)
	}
	g := newGates()
	if err := reg.Register(g.tool()); err != nil {
		t.Fatal(err)
	}
	fs := fault.New(1)
	k := kernel.New(reg, kernel.Options{Faults: fs, MaxRequestBytes: 1 << 20, Tasks: task.Config{Workers: 2, QueueCap: 8}})
	ts := &testServer{t: t, k: k, faults: fs, gates: g, log: &syncBuffer{}, served: make(chan error, 1)}
	cfg := server.Config{
		Kernel: k, Keys: []server.Key{{Name: "alice", Secret: aliceKey}, {Name: "bob", Secret: bobKey}},
		Log: slogJSON(ts.log), AccessLog: true, Heartbeat: 50 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	ts.url = "http://" + ts.addr
	ts.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	go func() { ts.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Drain(ctx)
		if err := wait(t, ts.served, "Serve to return"); err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.client.CloseIdleConnections()
		k.Close()
		fs.Close()
		p.CloseIdle()
	})
	return ts
}

// reply is an answer as the test reads it.
type reply struct {
	status int
	close  bool // the server said Connection: close
	header http.Header
	body   []byte
	env    envelope
}

// envelope is the protocol's reply.
type envelope struct {
	ID     string         `json:"id"`
	Status string         `json:"status"`
	Result map[string]any `json:"result"`
	Error  *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// errType is the envelope's error type, or "".
func (r reply) errType() string {
	if r.env.Error == nil {
		return ""
	}
	return r.env.Error.Type
}

// do sends a request as alice (unless headers say otherwise) and reads the
// reply; a JSON body is decoded into env.
func (ts *testServer) do(method, path, body string, headers ...string) reply {
	ts.t.Helper()
	r, err := ts.try(method, path, body, headers...)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (ts *testServer) try(method, path, body string, headers ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+aliceKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := ts.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, close: res.Close, header: res.Header, body: b}
	if err != nil {
		return out, err
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out.env); err != nil {
			return out, err
		}
	}
	return out, nil
}

// must checks a reply's status and, when typ is not "", its error type.
func (ts *testServer) must(r reply, status int, typ string) reply {
	ts.t.Helper()
	if r.status != status || r.errType() != typ {
		ts.t.Fatalf("got %d %s, want %d %s\n%s", r.status, r.errType(), status, typ, r.body)
	}
	return r
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
