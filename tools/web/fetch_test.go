package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// webPerm returns a permission set that allows no host but loopback, with
// the given limits.
func webPerm(tb testing.TB, lim perm.Limits) *perm.Set {
	tb.Helper()
	dir := tb.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Limits: lim})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.CloseIdle)
	return p
}

// webServer starts a loopback server for mux.
func webServer(tb testing.TB, mux http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// webTools returns the three fetching tools over p, each with the
// parameters that make it fetch url.
func webTools(p *perm.Set) []struct {
	tool   tools.Tool
	params func(url string) map[string]any
} {
	cfg := web.Config{Perm: p, HTTPTimeout: 5 * time.Second}
	return []struct {
		tool   tools.Tool
		params func(url string) map[string]any
	}{
		{web.Scraper(cfg), func(u string) map[string]any { return map[string]any{"input": u} }},
		{web.PageMonitor(cfg), func(u string) map[string]any { return map[string]any{"input": u} }},
		{web.SitemapCrawler(cfg), func(u string) map[string]any { return map[string]any{"input": u} }},
	}
}

// TestWebFetchShared checks the fetch behaviour every web tool shares: the
// network allow list on redirects and direct requests, the response size
// limit, status codes, schemes, timeouts and cancellation.
func TestWebFetchShared(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/escape", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.255.255.1/secret", http.StatusFound)
	})
	mux.HandleFunc("/escape-scheme", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>"+strings.Repeat("<p>filler</p>", 200)+"</body></html>")
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for range 200 {
			fmt.Fprint(w, "<p>filler</p>")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select { // tell a waiting test the request is in flight
		case arrived <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := webServer(t, mux)
	defer close(release) // runs before the server's cleanup, so /slow returns
	p := webPerm(t, perm.Limits{MaxResponseBytes: 1024})

	for _, wt := range webTools(p) {
		name := wt.tool.Spec().Name
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				name   string
				params map[string]any
				typ    tools.ErrorType
				msg    []string
			}{
				{"redirect to refused host", wt.params(srv.URL + "/escape"), tools.TypePermission,
					[]string{"10.255.255.1", "--allow-net=10.255.255.1:80"}},
				{"redirect to another scheme", wt.params(srv.URL + "/escape-scheme"), tools.TypePermission,
					[]string{"only http and https"}},
				{"refused host", wt.params("http://10.255.255.1:8080/x"), tools.TypePermission,
					[]string{"--allow-net=10.255.255.1:8080"}},
				{"body over the limit", wt.params(srv.URL + "/big"), tools.TypeTooLarge, []string{"1024-byte response limit"}},
				{"chunked body over the limit", wt.params(srv.URL + "/big-chunked"), tools.TypeTooLarge, []string{"1024-byte response limit"}},
				{"status", wt.params(srv.URL + "/gone"), tools.TypeExecution, []string{"410 Gone"}},
				{"ftp", wt.params("ftp://127.0.0.1/x"), tools.TypeValidation, []string{`"input"`, "scheme \"ftp\""}},
				{"relative", wt.params("/just/a/path"), tools.TypeValidation, []string{"no scheme"}},
				{"no host", wt.params("http:///x"), tools.TypeValidation, []string{"no host"}},
				{"empty", wt.params("  "), tools.TypeValidation, []string{"empty URL"}},
				{"long URL", wt.params("http://127.0.0.1/" + strings.Repeat("a", 64<<10)), tools.TypeTooLarge, []string{"65536-byte limit"}},
				{"bad URL", wt.params("http://a b/"), tools.TypeValidation, []string{"invalid URL"}},
				{"missing input", map[string]any{}, tools.TypeValidation, []string{`missing required parameter "input"`}},
				{"timeout_ms range", merge(wt.params(srv.URL+"/big"), map[string]any{"timeout_ms": 0}), tools.TypeValidation, []string{`"timeout_ms"`}},
				{"timeout", merge(wt.params(srv.URL+"/slow"), map[string]any{"timeout_ms": 50}), tools.TypeTimeout, []string{"timed out after 50ms"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					msg := callErr(t, wt.tool, tc.params, tc.typ)
					for _, m := range tc.msg {
						if !strings.Contains(msg, m) {
							t.Errorf("message %q does not contain %q", msg, m)
						}
					}
				})
			}
			t.Run("cancelled", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					select {
					case <-arrived:
						cancel()
					case <-done:
					}
				}()
				_, err := tools.Call(ctx, wt.tool, wt.params(srv.URL+"/slow"))
				close(done)
				cancel()
				if got := tools.TypeOf(err); got != tools.TypeCancelled {
					t.Fatalf("error type %s (%v), want cancelled", got, err)
				}
			})
			t.Run("caller deadline", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				defer cancel()
				_, err := tools.Call(ctx, wt.tool, wt.params(srv.URL+"/slow"))
				if got := tools.TypeOf(err); got != tools.TypeTimeout {
					t.Fatalf("error type %s (%v), want timeout", got, err)
				}
			})
		})
	}
}

// TestWebFetchNoPermissions checks that a tool built without a permission
// set refuses to fetch instead of panicking.
func TestWebFetchNoPermissions(t *testing.T) {
	for _, wt := range webTools(nil) {
		msg := callErr(t, wt.tool, wt.params("http://127.0.0.1:1/"), tools.TypePermission)
		if !strings.Contains(msg, "--allow-net") {
			t.Errorf("%s: message %q does not name --allow-net", wt.tool.Spec().Name, msg)
		}
	}
}

// TestWebFetchAllowedHost checks that --allow-net admits a host it lists:
// a redirect from an allowed loopback server to an allowed address is
// followed (the
// connection then fails, as nothing listens there, with an execution or
// timeout error rather than permission_denied).
func TestWebFetchAllowedHost(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1:9/", http.StatusFound) // TEST-NET-1: unroutable
	})
	srv := webServer(t, mux)
	p, err := perm.New(perm.Config{Base: t.TempDir(), Net: []string{"192.0.2.0/24", srv.Listener.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	tool := web.Scraper(web.Config{Perm: p})
	_, err = tools.Call(context.Background(), tool, map[string]any{"input": srv.URL + "/hop", "timeout_ms": 100})
	if err == nil {
		t.Fatal("fetch of an unroutable address succeeded")
	}
	if got := tools.TypeOf(err); got == tools.TypePermission {
		t.Fatalf("allowed host refused: %v", err)
	}
}

func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
