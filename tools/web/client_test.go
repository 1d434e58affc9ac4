package web_test

// Shared fixtures of the network tools' tests (http_request, graphql_query,
// web_search, api-tester, webhook-caller): a loopback server recording
// what it received, and permission sets.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// hxtSeen is one request the test server received.
type hxtSeen struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
	Host   string
}

// hxtMaxSeen is how many requests a test server remembers.
const hxtMaxSeen = 256

// hxtServer is an httptest server on 127.0.0.1 that records requests.
type hxtServer struct {
	*httptest.Server
	hits atomic.Int32
	stop chan struct{} // closed at cleanup: releases blocked handlers
	mu   sync.Mutex
	seen []hxtSeen
}

// hxtServe starts a server; handle gets the 1-based number of the request.
func hxtServe(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int)) *hxtServer {
	t.Helper()
	s := &hxtServer{stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := int(s.hits.Add(1))
		s.mu.Lock()
		if len(s.seen) == hxtMaxSeen { // bounded, for benchmarks
			s.seen = append(s.seen[:0], s.seen[1:]...)
		}
		s.seen = append(s.seen, hxtSeen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body), Host: r.Host})
		s.mu.Unlock()
		handle(w, r, n)
	}))
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want 127.0.0.1", s.URL)
	}
	t.Cleanup(func() {
		close(s.stop)
		s.Close()
	})
	return s
}

// block waits until the client gives up on the request (or the test ends),
// so a timed-out handler returns and Close does not hang.
func (s *hxtServer) block(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.stop:
	}
}

// last returns the last request received.
func (s *hxtServer) last(t *testing.T) hxtSeen {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the server received no request")
	}
	return s.seen[len(s.seen)-1]
}

// all returns the requests received (the last hxtMaxSeen).
func (s *hxtServer) all() []hxtSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hxtSeen(nil), s.seen...)
}

// hxtDeadURL returns the URL of a server that has been closed: nothing
// listens there, so a connection is refused.
func hxtDeadURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// hxtConfig returns a tool config with the default test permissions.
func hxtConfig(t testing.TB) web.Config {
	t.Helper()
	var p *perm.Set
	if tt, ok := t.(*testing.T); ok {
		p, _ = testPerm(tt)
	} else {
		p = hxtPerm(t, perm.Limits{})
	}
	return web.Config{Perm: p, HTTPTimeout: 10 * time.Second, SearchEndpoint: ""}
}

// hxtPerm returns a permission set with limits (loopback only).
func hxtPerm(t testing.TB, lim perm.Limits) *perm.Set {
	t.Helper()
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	return p
}

// hxtCallCtx invokes a tool with ctx and returns the error's type and message.
func hxtCallCtx(ctx context.Context, tool tools.Tool, params map[string]any) (any, tools.ErrorType, string) {
	res, err := tools.Call(ctx, tool, params)
	if err != nil {
		return nil, tools.TypeOf(err), err.Error()
	}
	return res, "", ""
}

// hxtDenied is a refused address: never dialled, so no packet leaves.
const hxtDenied = "http://10.255.255.1:81/"

// hxtRedirectTo answers every request with a redirect to target.
func hxtRedirectTo(target string, code int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) { http.Redirect(w, r, target, code) }
}

// hxtBadCase is one bad-input case.
type hxtBadCase struct {
	name   string
	params map[string]any
	typ    tools.ErrorType
	want   string // substring of the message
}

func hxtRunBad(t *testing.T, tool tools.Tool, cases []hxtBadCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
}

// TestHTTPRequestCommonSpecs checks the five network tools' specs.
func TestHTTPRequestCommonSpecs(t *testing.T) {
	cfg := hxtConfig(t)
	for _, tc := range []struct {
		tool     tools.Tool
		name     string
		category string
	}{
		{web.HTTPRequest(cfg), "http_request", "api"},
		{web.GraphQLQuery(cfg), "graphql_query", "api"},
		{web.Search(cfg), "web_search", "web"},
		{web.APITester(cfg), "api-tester", "data"},
		{web.WebhookCaller(cfg), "webhook-caller", "data"},
	} {
		spec := tc.tool.Spec()
		if err := spec.Check(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if spec.Name != tc.name || spec.Category != tc.category || spec.Returns == "" || spec.Inline {
			t.Errorf("%s: spec %+v", tc.name, spec)
		}
		if spec.Example != nil {
			t.Errorf("%s: a network tool has no offline example", tc.name)
		}
		for _, p := range spec.Params {
			if p.Description == "" {
				t.Errorf("%s: parameter %s has no description", tc.name, p.Name)
			}
		}
	}
}

// TestHTTPRequestCommonNilPerm: without a permission set every call is refused.
func TestHTTPRequestCommonNilPerm(t *testing.T) {
	cfg := web.Config{SearchEndpoint: "http://127.0.0.1:1/search"}
	for _, tc := range []struct {
		tool   tools.Tool
		params map[string]any
	}{
		{web.HTTPRequest(cfg), map[string]any{"input": "http://127.0.0.1:1/"}},
		{web.GraphQLQuery(cfg), map[string]any{"endpoint": "http://127.0.0.1:1/", "input": "{ a }"}},
		{web.Search(cfg), map[string]any{"input": "go"}},
		{web.APITester(cfg), map[string]any{"input": "http://127.0.0.1:1/"}},
		{web.WebhookCaller(cfg), map[string]any{"input": "http://127.0.0.1:1/"}},
	} {
		msg := callErr(t, tc.tool, tc.params, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net") {
			t.Errorf("%s: %q does not name the flag", tc.tool.Spec().Name, msg)
		}
	}
}
