package web_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// npServer is a loopback HTTP server that counts the connections it
// accepts and answers every network tool: /graphql with GraphQL JSON,
// /search with SearXNG JSON, /sitemap.xml with a sitemap, /redirect?to=U
// with a 307 to U, anything else with an HTML page.
type npServer struct {
	*httptest.Server
	conns, hits atomic.Int64 // connections accepted, requests answered
}

func npServe(t *testing.T) *npServer {
	t.Helper()
	s := &npServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		switch r.URL.Path {
		case "/graphql":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":{"ok":true}}`)
		case "/search":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"results":[{"url":"http://127.0.0.1/","title":"t","content":"c"}]}`)
		case "/sitemap.xml":
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://127.0.0.1/a</loc></url></urlset>`)
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusTemporaryRedirect)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><title>ok</title></head><body><p>ok</p></body></html>`)
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// npTool is a network tool and the call that makes it reach base (a URL
// without a path), or path on it.
type npTool struct {
	name string
	make func(cfg web.Config, base, path string) (tools.Tool, map[string]any)
}

var npTools = []npTool{
	{"http_request", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.HTTPRequest(cfg), map[string]any{"input": base + path}
	}},
	{"graphql_query", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		if path == "" {
			path = "/graphql"
		}
		return web.GraphQLQuery(cfg), map[string]any{"endpoint": base + path, "input": "{ ok }"}
	}},
	{"web_search", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		if path == "" {
			path = "/search"
		}
		cfg.SearchEndpoint = base + path
		return web.Search(cfg), map[string]any{"input": "spellhost"}
	}},
	{"api-tester", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.APITester(cfg), map[string]any{"input": base + path}
	}},
	{"webhook-caller", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.WebhookCaller(cfg), map[string]any{"input": base + path, "payload": map[string]any{"a": 1}, "max_retries": 0}
	}},
	{"web-scraper", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.Scraper(cfg), map[string]any{"input": base + path}
	}},
	{"webpage-monitor", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.PageMonitor(cfg), map[string]any{"input": base + path}
	}},
	{"sitemap-crawler", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		if path == "" {
			path = "/sitemap.xml"
		}
		return web.SitemapCrawler(cfg), map[string]any{"input": base + path}
	}},
	{"url_analyzer", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.URLAnalyzer(cfg), map[string]any{"input": base + path, "fetch_metadata": true}
	}},
	{"service_checker http", func(cfg web.Config, base, path string) (tools.Tool, map[string]any) {
		return web.ServiceChecker(cfg), map[string]any{"target": base + path, "check_type": "http", "follow_redirects": true}
	}},
	{"service_checker tcp", func(cfg web.Config, base, _ string) (tools.Tool, map[string]any) {
		return web.ServiceChecker(cfg), map[string]any{"target": strings.TrimPrefix(base, "http://"), "check_type": "tcp"}
	}},
}

// npResolver counts lookups and answers none: the tools must never need
// it, as every name below is refused.
func npResolver(n *atomic.Int64) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		n.Add(1)
		return nil, errors.New("no DNS in this test")
	}}
}

// TestNetworkToolsExactList runs every network tool under
// --allow-net=127.0.0.1:OK: the allowed port works; another loopback port,
// localhost on that port, the IPv6 loopback, 0.0.0.0, number-like forms of
// 127.0.0.1, a refused name and redirects to any of them are refused
// before a connection is made or a name looked up.
func TestNetworkToolsExactList(t *testing.T) {
	ok, canary := npServe(t), npServe(t)
	okHost := ok.Listener.Addr().String()
	_, canaryPort, _ := net.SplitHostPort(canary.Listener.Addr().String())
	var lookups atomic.Int64
	ps, err := perm.New(perm.Config{Base: t.TempDir(), Net: []string{okHost}, Resolver: npResolver(&lookups)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.CloseIdle)
	cfg := web.Config{Perm: ps, HTTPTimeout: 10 * time.Second}
	_, okPort, _ := net.SplitHostPort(okHost)
	refused := []string{
		"http://127.0.0.1:" + canaryPort,
		"http://localhost:" + canaryPort,
		"http://[::1]:" + okPort,
		"http://[::ffff:127.0.0.1]:" + canaryPort,
		"http://0.0.0.0:" + okPort,
		"http://127.0.0.2:" + okPort,
		"http://6c65616b.exfil.test:" + okPort,
		"http://localhost.:" + canaryPort,
	}
	invalid := []string{
		"http://2130706433:" + okPort,
		"http://127.1:" + okPort,
		"http://0x7f.0.0.1:" + okPort,
	}
	for _, nt := range npTools {
		t.Run(nt.name, func(t *testing.T) {
			tool, params := nt.make(cfg, "http://"+okHost, "")
			before := ok.hits.Load()
			res, err := tools.Call(context.Background(), tool, params)
			if err != nil {
				t.Fatalf("allowed %s: %v", okHost, err)
			}
			if m, _ := res.(map[string]any); m["available"] == false {
				t.Fatalf("allowed %s: %v", okHost, m)
			} else if _, check := m["available"]; !check && ok.hits.Load() == before {
				t.Fatal("the allowed server got no request")
			}
			check := func(base, path string, want tools.ErrorType) {
				t.Helper()
				tool, params := nt.make(cfg, base, path)
				if nt.name == "service_checker tcp" && path != "" {
					return // no redirects in a TCP check
				}
				_, err := tools.Call(context.Background(), tool, params)
				if got := tools.TypeOf(err); got != want {
					t.Errorf("%s%s: %v (%s), want %s", base, path, err, got, want)
				} else if want == tools.TypePermission && !strings.Contains(err.Error(), "--allow-net=") {
					t.Errorf("%s%s: message %q does not name the flag", base, path, err)
				}
			}
			for _, base := range refused {
				check(base, "", tools.TypePermission)
				check("http://"+okHost, "/redirect?to="+url.QueryEscape(base+"/graphql"), tools.TypePermission)
			}
			for _, base := range invalid {
				if nt.name == "url_analyzer" {
					continue // it rejects such hosts itself, before any fetch
				}
				check(base, "", tools.TypeValidation)
			}
			if nt.name != "service_checker tcp" { // a TCP target is no URL
				// A URL whose user info looks like the allowed host.
				check("http://"+okHost+"@evil.test", "", tools.TypePermission)
			}
		})
	}
	if n := canary.conns.Load(); n != 0 {
		t.Errorf("the canary server accepted %d connections", n)
	}
	if n := lookups.Load(); n != 0 {
		t.Errorf("%d DNS lookups were attempted", n)
	}
}

// TestServiceCheckerNamesUnasked checks that dns and tcp checks of a name
// the permissions refuse ask no resolver, and that an allowed name is
// asked for.
func TestServiceCheckerNamesUnasked(t *testing.T) {
	var lookups atomic.Int64
	dir := t.TempDir()
	def, err := perm.New(perm.Config{Base: dir, Resolver: npResolver(&lookups)})
	if err != nil {
		t.Fatal(err)
	}
	tool := web.ServiceChecker(web.Config{Perm: def})
	for _, params := range []map[string]any{
		{"target": "6c65616b.exfil.test", "check_type": "dns"},
		{"target": "6c65616b.exfil.test:80", "check_type": "tcp"},
		{"target": "[::]:80", "check_type": "tcp"},
		{"target": "0.0.0.0", "check_type": "dns"},
	} {
		msg := callErr(t, tool, params, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=") {
			t.Errorf("%v: message %q does not name the flag", params, msg)
		}
	}
	res := call(t, tool, map[string]any{"target": "localhost", "check_type": "dns"})
	if fmt.Sprint(res["addresses"]) != "[127.0.0.1 ::1]" {
		t.Errorf("localhost: %v", res)
	}
	if n := lookups.Load(); n != 0 {
		t.Fatalf("%d lookups for refused names or localhost", n)
	}
	named, err := perm.New(perm.Config{Base: dir, Net: []string{"svc.test"}, Resolver: npResolver(&lookups)})
	if err != nil {
		t.Fatal(err)
	}
	res = call(t, web.ServiceChecker(web.Config{Perm: named}), map[string]any{"target": "svc.test", "check_type": "dns"})
	if res["available"] != false || res["status"] != "unresolved" || lookups.Load() == 0 {
		t.Fatalf("allowed name: %v after %d lookups", res, lookups.Load())
	}
}
