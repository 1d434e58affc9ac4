package web_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// scTool returns service_checker under the default network permission
// (loopback only).
func scTool(t testing.TB) tools.Tool {
	t.Helper()
	dir := t.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.CloseIdle)
	return web.ServiceChecker(web.Config{Perm: ps})
}

// scListener returns a 127.0.0.1 listener that accepts and closes
// connections until the test ends.
func scListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// scClosedPort returns a 127.0.0.1 address nothing listens on.
func scClosedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func scServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusFound) })
	mux.HandleFunc("/evil", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.255.255.1/x", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestServiceCheckerAvailable(t *testing.T) {
	tool := scTool(t)
	open := scListener(t)
	_, port, _ := net.SplitHostPort(open)
	closed := scClosedPort(t)
	srv := scServer(t, false)
	tlsSrv := scServer(t, true)
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	cases := []struct {
		name      string
		params    map[string]any
		available bool
		status    any
		errHas    string
		extra     map[string]any
	}{
		{"tcp open", map[string]any{"target": open, "check_type": "tcp"}, true, "open", "", map[string]any{"address": open}},
		{"tcp by name", map[string]any{"target": "localhost:" + port, "check_type": "tcp"}, true, "open", "", nil},
		{"tcp from URL", map[string]any{"target": "http://" + open + "/x", "check_type": "tcp"}, true, "open", "", nil},
		{"tcp closed", map[string]any{"target": closed, "check_type": "tcp"}, false, "closed", "refused", map[string]any{"address": nil}},
		{"http 200", map[string]any{"target": srv.URL, "check_type": "http"}, true, 200, "", map[string]any{"location": nil, "final_url": srv.URL}},
		{"http without scheme", map[string]any{"target": hostPort + "/", "check_type": "http"}, true, 200, "", nil},
		{"http 404", map[string]any{"target": srv.URL + "/missing", "check_type": "http"}, false, 404, "status 404, expected 2xx or 3xx", nil},
		{"http expected 404", map[string]any{"target": srv.URL + "/missing", "check_type": "http", "expected_status": 404}, true, 404, "", nil},
		{"http expected 200 got 418", map[string]any{"target": srv.URL + "/teapot", "check_type": "http", "expected_status": 200}, false, 418, "expected 200", nil},
		{"http redirect is the answer", map[string]any{"target": srv.URL + "/redirect", "check_type": "http"}, true, 302, "", map[string]any{"location": "/"}},
		{"http redirect followed", map[string]any{"target": srv.URL + "/redirect", "check_type": "http", "follow_redirects": true}, true, 200, "",
			map[string]any{"location": nil, "final_url": srv.URL + "/"}},
		{"http redirect to refused host not followed", map[string]any{"target": srv.URL + "/evil", "check_type": "http"}, true, 302, "",
			map[string]any{"location": "http://10.255.255.1/x"}},
		{"http closed", map[string]any{"target": "http://" + closed, "check_type": "http"}, false, "closed", "refused", nil},
		{"http timeout", map[string]any{"target": srv.URL + "/slow", "check_type": "http", "timeout_seconds": 0.2}, false, "timeout", "no answer within 0.2 s", nil},
		{"https untrusted certificate", map[string]any{"target": tlsSrv.URL, "check_type": "https"}, false, "error", "certificate", nil},
		{"dns localhost", map[string]any{"target": "localhost", "check_type": "dns"}, true, "resolved", "", nil},
		{"dns ip", map[string]any{"target": "127.0.0.1", "check_type": "dns"}, true, "resolved", "", map[string]any{"addresses": []any{"127.0.0.1"}}},
		{"dns ipv6 brackets", map[string]any{"target": "[::1]", "check_type": "dns"}, true, "resolved", "", map[string]any{"addresses": []any{"::1"}}},
		{"dns host:port", map[string]any{"target": "127.0.0.1:53", "check_type": "dns"}, true, "resolved", "", map[string]any{"addresses": []any{"127.0.0.1"}}},
		{"dns URL", map[string]any{"target": "http://127.0.0.1/x", "check_type": "dns"}, true, "resolved", "", map[string]any{"addresses": []any{"127.0.0.1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if res["available"] != c.available || res["status"] != c.status {
				t.Fatalf("available %v status %v (error %v), want %v and %v", res["available"], res["status"], res["error"], c.available, c.status)
			}
			if res["check_type"] != c.params["check_type"] || res["target"] != c.params["target"] {
				t.Fatalf("echo: %v", res)
			}
			if c.errHas == "" && res["error"] != nil {
				t.Fatalf("error %v, want null", res["error"])
			}
			if c.errHas != "" && !strings.Contains(res["error"].(string), c.errHas) {
				t.Fatalf("error %v does not mention %q", res["error"], c.errHas)
			}
			if ms, ok := res["response_time_ms"].(float64); !ok || ms < 0 {
				t.Fatalf("response_time_ms %v", res["response_time_ms"])
			}
			for k, v := range c.extra {
				if got := res[k]; !equalJSONish(got, v) {
					t.Fatalf("%s = %v, want %v", k, got, v)
				}
			}
		})
	}
	t.Run("dns localhost addresses", func(t *testing.T) {
		res := call(t, tool, map[string]any{"target": "localhost", "check_type": "dns"})
		addrs := res["addresses"].([]any)
		if len(addrs) == 0 || !slices.ContainsFunc(addrs, func(a any) bool { return a == "127.0.0.1" || a == "::1" }) {
			t.Fatalf("addresses %v", addrs)
		}
	})
}

func equalJSONish(a, b any) bool {
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		return ok && slices.Equal(la, lb)
	}
	return a == b
}

func TestServiceCheckerErrors(t *testing.T) {
	tool := scTool(t)
	open := scListener(t)
	srv := scServer(t, false)
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing target", tool, map[string]any{"check_type": "tcp"}, tools.TypeValidation, []string{`"target"`}},
		{"missing check_type", tool, map[string]any{"target": open}, tools.TypeValidation, []string{`"check_type"`}},
		{"unknown check_type", tool, map[string]any{"target": open, "check_type": "icmp"}, tools.TypeValidation, []string{`"check_type"`, `"icmp"`}},
		{"unknown parameter", tool, map[string]any{"target": open, "check_type": "tcp", "retries": 3}, tools.TypeValidation, []string{`"retries"`}},
		{"target wrong type", tool, map[string]any{"target": 80, "check_type": "tcp"}, tools.TypeValidation, []string{`"target"`, "expected string"}},
		{"target empty", tool, map[string]any{"target": "  ", "check_type": "tcp"}, tools.TypeValidation, []string{`"target"`, "empty"}},
		{"target too long", tool, map[string]any{"target": strings.Repeat("a", 2049), "check_type": "dns"}, tools.TypeTooLarge, []string{`"target"`, "2048-byte"}},
		{"timeout zero", tool, map[string]any{"target": open, "check_type": "tcp", "timeout_seconds": 0}, tools.TypeValidation, []string{`"timeout_seconds"`}},
		{"timeout negative", tool, map[string]any{"target": open, "check_type": "tcp", "timeout_seconds": -1}, tools.TypeValidation, []string{`"timeout_seconds"`}},
		{"timeout over max", tool, map[string]any{"target": open, "check_type": "tcp", "timeout_seconds": 61}, tools.TypeValidation, []string{`"timeout_seconds"`, "60"}},
		{"timeout wrong type", tool, map[string]any{"target": open, "check_type": "tcp", "timeout_seconds": "5"}, tools.TypeValidation, []string{`"timeout_seconds"`, "expected number"}},
		{"expected_status for tcp", tool, map[string]any{"target": open, "check_type": "tcp", "expected_status": 200}, tools.TypeValidation, []string{`"expected_status"`, "tcp"}},
		{"follow_redirects for dns", tool, map[string]any{"target": "localhost", "check_type": "dns", "follow_redirects": true}, tools.TypeValidation, []string{`"follow_redirects"`}},
		{"expected_status too low", tool, map[string]any{"target": srv.URL, "check_type": "http", "expected_status": 99}, tools.TypeValidation, []string{`"expected_status"`, "99"}},
		{"expected_status too high", tool, map[string]any{"target": srv.URL, "check_type": "http", "expected_status": 600}, tools.TypeValidation, []string{`"expected_status"`}},
		{"tcp without port", tool, map[string]any{"target": "127.0.0.1", "check_type": "tcp"}, tools.TypeValidation, []string{`"target"`, "host:port"}},
		{"tcp port zero", tool, map[string]any{"target": "127.0.0.1:0", "check_type": "tcp"}, tools.TypeValidation, []string{"port", "1 to 65535"}},
		{"tcp port too high", tool, map[string]any{"target": "127.0.0.1:70000", "check_type": "tcp"}, tools.TypeValidation, []string{"port \"70000\""}},
		{"tcp port name", tool, map[string]any{"target": "127.0.0.1:http", "check_type": "tcp"}, tools.TypeValidation, []string{"port \"http\""}},
		{"tcp URL without port", tool, map[string]any{"target": "ftp://127.0.0.1/", "check_type": "tcp"}, tools.TypeValidation, []string{"no port"}},
		{"tcp no host", tool, map[string]any{"target": ":80", "check_type": "tcp"}, tools.TypeValidation, []string{"no host"}},
		{"http scheme mismatch", tool, map[string]any{"target": "https://127.0.0.1/", "check_type": "http"}, tools.TypeValidation, []string{`"https"`, "check_type http"}},
		{"https scheme mismatch", tool, map[string]any{"target": srv.URL, "check_type": "https"}, tools.TypeValidation, []string{`"http"`, "check_type https"}},
		{"http other scheme", tool, map[string]any{"target": "ftp://127.0.0.1/", "check_type": "http"}, tools.TypeValidation, []string{`"ftp"`}},
		{"http no host", tool, map[string]any{"target": "http:///x", "check_type": "http"}, tools.TypeValidation, []string{"no host"}},
		{"http bad URL", tool, map[string]any{"target": "http://127.0.0.1:99999999/", "check_type": "http"}, tools.TypeValidation, []string{`"target"`}},
		{"http bad port", tool, map[string]any{"target": "http://127.0.0.1:0/", "check_type": "http"}, tools.TypeValidation, []string{"port"}},
		{"dns bad host", tool, map[string]any{"target": "a b", "check_type": "dns"}, tools.TypeValidation, []string{"not a host name"}},
		// Permissions.
		{"tcp refused host", tool, map[string]any{"target": "10.255.255.1:80", "check_type": "tcp"}, tools.TypePermission, []string{`"target"`, "--allow-net=10.255.255.1:80"}},
		{"http refused host", tool, map[string]any{"target": "http://10.255.255.1/", "check_type": "http"}, tools.TypePermission, []string{"--allow-net=10.255.255.1:80"}},
		{"https refused host", tool, map[string]any{"target": "10.255.255.1", "check_type": "https"}, tools.TypePermission, []string{"--allow-net=10.255.255.1:443"}},
		{"dns refused address", tool, map[string]any{"target": "10.255.255.1", "check_type": "dns"}, tools.TypePermission, []string{"--allow-net=10.255.255.1"}},
		{"redirect to refused host", tool, map[string]any{"target": srv.URL + "/evil", "check_type": "http", "follow_redirects": true}, tools.TypePermission,
			[]string{"10.255.255.1", "--allow-net=10.255.255.1:80"}},
		{"mapped ipv6 of refused host", tool, map[string]any{"target": "[::ffff:10.255.255.1]:80", "check_type": "tcp"}, tools.TypePermission, []string{"--allow-net"}},
		{"nil perm", web.ServiceChecker(web.Config{}), map[string]any{"target": open, "check_type": "tcp"}, tools.TypePermission, []string{"--allow-net=127.0.0.1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, c.tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}

	t.Run("caller cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, kind := range []string{"tcp", "http"} {
			_, err := tools.Call(ctx, tool, map[string]any{"target": open, "check_type": kind})
			if tools.TypeOf(err) != tools.TypeCancelled {
				t.Fatalf("%s: got %v, want cancelled (not available false)", kind, err)
			}
		}
	})
}

func TestServiceCheckerMasksPassword(t *testing.T) {
	tool := scTool(t)
	srv := scServer(t, false)
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	res := call(t, tool, map[string]any{"target": u, "check_type": "http"})
	if res["available"] != true || strings.Contains(res["target"].(string), "hunter2") || !strings.Contains(res["target"].(string), "user:") {
		t.Fatalf("got %v", res)
	}
	res = call(t, tool, map[string]any{"target": u, "check_type": "tcp"})
	if res["available"] != true || strings.Contains(res["target"].(string), "hunter2") {
		t.Fatalf("tcp: got %v", res)
	}
}

func TestServiceCheckerAllowedByRule(t *testing.T) {
	dir := t.TempDir()
	// A CIDR rule admits the address; its neighbour stays refused.
	ps, err := perm.New(perm.Config{Base: dir, Net: []string{"10.255.255.0/30"}})
	if err != nil {
		t.Fatal(err)
	}
	tool := web.ServiceChecker(web.Config{Perm: ps})
	res := call(t, tool, map[string]any{"target": "10.255.255.1", "check_type": "dns"})
	if res["available"] != true || !slices.Equal(res["addresses"].([]any), []any{"10.255.255.1"}) {
		t.Fatalf("got %v", res)
	}
	callErr(t, tool, map[string]any{"target": "10.255.255.4", "check_type": "dns"}, tools.TypePermission)
}

func TestServiceCheckerExample(t *testing.T) {
	tool := scTool(t)
	res := call(t, tool, tool.Spec().Example)
	if res["available"] != true || res["status"] != "resolved" {
		t.Fatalf("example: %v", res)
	}
}

func BenchmarkServiceChecker(b *testing.B) {
	tool := scTool(b)
	params := map[string]any{"target": scListener(b), "check_type": "tcp"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := tools.Call(b.Context(), tool, params)
		if err != nil || res.(map[string]any)["available"] != true {
			b.Fatal(res, err)
		}
	}
}
