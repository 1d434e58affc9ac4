package web_test

import (
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

func TestHTTPRequestSuccess(t *testing.T) {
	srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
			w.Write([]byte(`{"ok":true,"n":[1,2.5]}`))
		case "/badjson":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":`))
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0x00, 0xfe})
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("no such page"))
		case "/multi":
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			w.Write([]byte("multi"))
		case "/redirect":
			http.Redirect(w, r, "/final?x=1", http.StatusFound)
		default:
			w.Header().Set("X-Reply", "yes")
			w.Write([]byte("hello " + r.Method))
		}
	})
	tool := web.HTTPRequest(hxtConfig(t))
	tests := []struct {
		name   string
		params map[string]any
		check  func(t *testing.T, res map[string]any, got hxtSeen)
	}{
		{"get default", map[string]any{"input": srv.URL + "/plain?q=1"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Method != "GET" || got.Path != "/plain" || got.Query["q"][0] != "1" || got.Body != "" {
				t.Errorf("server got %+v", got)
			}
			if ua := got.Header.Get("User-Agent"); ua != "spellhost/1" {
				t.Errorf("User-Agent %q", ua)
			}
			if res["status_code"] != 200 || res["body"] != "hello GET" || res["body_encoding"] != "utf-8" ||
				res["attempts"] != 1 || res["final_url"] != srv.URL+"/plain?q=1" {
				t.Errorf("result %v", res)
			}
			h := res["headers"].(map[string]any)
			if h["x-reply"] != "yes" || h["content-length"] != "9" {
				t.Errorf("headers %v", h)
			}
			if _, ok := res["body_json"]; ok {
				t.Errorf("body_json for a text reply")
			}
			if d, ok := res["duration_ms"].(float64); !ok || d < 0 {
				t.Errorf("duration_ms %v", res["duration_ms"])
			}
		}},
		{"post object body as JSON", map[string]any{"input": srv.URL, "method": "POST",
			"body": map[string]any{"b": "<x&y>", "a": []any{int64(1), true, nil}}}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Method != "POST" || got.Body != `{"a":[1,true,null],"b":"<x&y>"}` {
				t.Errorf("server got %s %q", got.Method, got.Body)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		}},
		{"put string body with headers", map[string]any{"input": srv.URL, "method": "PUT", "body": "raw text",
			"headers": map[string]any{"x-custom": "v1", "X-Num": int64(42), "X-Bool": true, "Host": "example.test"}},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				if got.Method != "PUT" || got.Body != "raw text" || got.Header.Get("Content-Type") != "" {
					t.Errorf("server got %+v", got)
				}
				if got.Header.Get("X-Custom") != "v1" || got.Header.Get("X-Num") != "42" || got.Header.Get("X-Bool") != "true" || got.Host != "example.test" {
					t.Errorf("headers %v host %q", got.Header, got.Host)
				}
			}},
		{"array body keeps a given content type", map[string]any{"input": srv.URL, "method": "PATCH", "body": []any{"a"},
			"headers": map[string]any{"Content-Type": "application/merge-patch+json"}}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Body != `["a"]` || got.Header.Get("Content-Type") != "application/merge-patch+json" {
				t.Errorf("server got %+v", got)
			}
		}},
		{"empty post", map[string]any{"input": srv.URL, "method": "POST"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Body != "" || got.Header.Get("Content-Length") != "0" && got.Header.Get("Content-Length") != "" {
				t.Errorf("server got %+v", got)
			}
		}},
		{"basic auth", map[string]any{"input": srv.URL, "auth": map[string]any{"type": "basic", "username": "ann", "password": "p:w"}},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:p:w"))
				if got.Header.Get("Authorization") != want {
					t.Errorf("Authorization %q", got.Header.Get("Authorization"))
				}
			}},
		{"bearer overrides header", map[string]any{"input": srv.URL, "headers": map[string]any{"Authorization": "old"},
			"auth": map[string]any{"type": "bearer", "token": "t0k"}}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if v := got.Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer t0k" {
				t.Errorf("Authorization %q", v)
			}
		}},
		{"api key default header", map[string]any{"input": srv.URL, "auth": map[string]any{"type": "api_key", "token": "k1"}},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				if got.Header.Get("X-API-Key") != "k1" {
					t.Errorf("headers %v", got.Header)
				}
			}},
		{"api key custom header", map[string]any{"input": srv.URL, "auth": map[string]any{"type": "api_key", "token": "k2", "header": "x-token"}},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				if got.Header.Get("X-Token") != "k2" || got.Header.Get("X-API-Key") != "" {
					t.Errorf("headers %v", got.Header)
				}
			}},
		{"json reply", map[string]any{"input": srv.URL + "/json"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			want := map[string]any{"ok": true, "n": []any{1.0, 2.5}}
			if !reflect.DeepEqual(res["body_json"], want) || res["body"] != `{"ok":true,"n":[1,2.5]}` {
				t.Errorf("body_json %v body %v", res["body_json"], res["body"])
			}
		}},
		{"malformed json reply", map[string]any{"input": srv.URL + "/badjson"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if _, ok := res["body_json"]; ok || res["body"] != `{"ok":` {
				t.Errorf("result %v", res)
			}
		}},
		{"binary reply as base64", map[string]any{"input": srv.URL + "/binary"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if res["body"] != base64.StdEncoding.EncodeToString([]byte{0xff, 0, 0xfe}) || res["body_encoding"] != "base64" {
				t.Errorf("result %v", res)
			}
		}},
		{"head", map[string]any{"input": srv.URL, "method": "HEAD"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Method != "HEAD" || res["status_code"] != 200 || res["body"] != "" {
				t.Errorf("server %s result %v", got.Method, res)
			}
		}},
		{"options and delete", map[string]any{"input": srv.URL, "method": "DELETE"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Method != "DELETE" || res["body"] != "hello DELETE" {
				t.Errorf("server %s result %v", got.Method, res)
			}
		}},
		{"404 is data", map[string]any{"input": srv.URL + "/missing"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if res["status_code"] != 404 || res["body"] != "no such page" {
				t.Errorf("result %v", res)
			}
		}},
		{"expect_status matches", map[string]any{"input": srv.URL + "/missing", "expect_status": []any{200, 404}},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				if res["status_code"] != 404 {
					t.Errorf("result %v", res)
				}
			}},
		{"repeated headers joined", map[string]any{"input": srv.URL + "/multi"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if h := res["headers"].(map[string]any); h["x-multi"] != "a, b" {
				t.Errorf("headers %v", h)
			}
		}},
		{"redirect followed", map[string]any{"input": srv.URL + "/redirect"}, func(t *testing.T, res map[string]any, got hxtSeen) {
			if got.Path != "/final" || res["final_url"] != srv.URL+"/final?x=1" || res["status_code"] != 200 {
				t.Errorf("server %s result %v", got.Path, res)
			}
		}},
		{"redirect not followed", map[string]any{"input": srv.URL + "/redirect", "follow_redirects": false},
			func(t *testing.T, res map[string]any, got hxtSeen) {
				h := res["headers"].(map[string]any)
				if got.Path != "/redirect" || res["status_code"] != 302 || h["location"] != "/final?x=1" {
					t.Errorf("server %s result %v", got.Path, res)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, tool, tc.params)
			tc.check(t, res, srv.last(t))
		})
	}
}

func TestHTTPRequestRetry(t *testing.T) {
	cfg := hxtConfig(t)
	tool := web.HTTPRequest(cfg)
	t.Run("503 then 502 then 200", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 1:
				w.WriteHeader(503)
			case 2:
				w.WriteHeader(502)
			default:
				w.Write([]byte("third"))
			}
		})
		res := call(t, tool, map[string]any{"input": srv.URL, "method": "POST", "body": "b",
			"retry": map[string]any{"max_attempts": 5, "backoff_ms": 0}})
		if res["status_code"] != 200 || res["attempts"] != 3 || res["body"] != "third" || srv.hits.Load() != 3 {
			t.Fatalf("result %v after %d hits", res, srv.hits.Load())
		}
		for _, got := range srv.all() {
			if got.Body != "b" || got.Method != "POST" {
				t.Errorf("attempt got %+v, want the body resent", got)
			}
		}
	})
	t.Run("retries spent: last status is data", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(504)
			w.Write([]byte("gateway"))
		})
		res := call(t, tool, map[string]any{"input": srv.URL, "retry": map[string]any{"max_attempts": 3, "backoff_ms": 0}})
		if res["status_code"] != 504 || res["attempts"] != 3 || res["body"] != "gateway" || srv.hits.Load() != 3 {
			t.Fatalf("result %v after %d hits", res, srv.hits.Load())
		}
	})
	t.Run("500 is not retried by default", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(500) })
		res := call(t, tool, map[string]any{"input": srv.URL, "retry": map[string]any{"max_attempts": 3, "backoff_ms": 0}})
		if res["status_code"] != 500 || res["attempts"] != 1 || srv.hits.Load() != 1 {
			t.Fatalf("result %v after %d hits", res, srv.hits.Load())
		}
	})
	t.Run("retry_on replaces the statuses", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n < 3 {
				w.WriteHeader(500)
			}
		})
		res := call(t, tool, map[string]any{"input": srv.URL, "retry": map[string]any{"max_attempts": 3, "backoff_ms": 0, "retry_on": []any{500}}})
		if res["status_code"] != 200 || res["attempts"] != 3 {
			t.Fatalf("result %v", res)
		}
	})
	t.Run("expect_status after retries", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(503) })
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "expect_status": 200,
			"retry": map[string]any{"max_attempts": 2, "backoff_ms": 0}}, tools.TypeExecution)
		if !strings.Contains(msg, "got status 503, want 200") || !strings.Contains(msg, "after 2 attempt") || srv.hits.Load() != 2 {
			t.Fatalf("message %q after %d hits", msg, srv.hits.Load())
		}
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": hxtDeadURL(t), "retry": map[string]any{"max_attempts": 3, "backoff_ms": 0}}, tools.TypeExecution)
		if !strings.Contains(msg, "(attempt 3 of 3)") || !strings.Contains(msg, "refused") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("permission refusal is not retried", func(t *testing.T) {
		srv := hxtServe(t, hxtRedirectTo(hxtDenied, http.StatusFound))
		callErr(t, tool, map[string]any{"input": srv.URL, "retry": map[string]any{"max_attempts": 4, "backoff_ms": 0}}, tools.TypePermission)
		if srv.hits.Load() != 1 {
			t.Fatalf("%d hits, want 1", srv.hits.Load())
		}
	})
	t.Run("no retry past the caller's deadline", func(t *testing.T) {
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(503) })
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		// The backoff (5 s cap) would pass the deadline: the first reply is the result.
		res, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": srv.URL, "retry": map[string]any{"max_attempts": 3, "backoff_ms": 5000}})
		if typ != "" {
			t.Fatalf("error %s: %s", typ, msg)
		}
		if m := res.(map[string]any); m["status_code"] != 503 || m["attempts"] != 1 {
			t.Fatalf("result %v", m)
		}
	})
}

func TestHTTPRequestTimeout(t *testing.T) {
	var srv *hxtServer
	srv = hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) { srv.block(r) })
	tool := web.HTTPRequest(hxtConfig(t))
	t.Run("timeout_ms", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "timeout_ms": 50}, tools.TypeTimeout)
		if !strings.Contains(msg, "50ms") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("timeouts retried", func(t *testing.T) {
		before := srv.hits.Load()
		callErr(t, tool, map[string]any{"input": srv.URL, "timeout_ms": 30, "retry": map[string]any{"max_attempts": 2, "backoff_ms": 0}}, tools.TypeTimeout)
		if got := srv.hits.Load() - before; got != 2 {
			t.Errorf("%d attempts reached the server, want 2", got)
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": srv.URL})
		if typ != tools.TypeTimeout {
			t.Errorf("type %s (%s), want timeout", typ, msg)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": srv.URL})
		if typ != tools.TypeCancelled {
			t.Errorf("type %s (%s), want cancelled", typ, msg)
		}
	})
	t.Run("default timeout from config", func(t *testing.T) {
		cfg := hxtConfig(t)
		cfg.HTTPTimeout = 40 * time.Millisecond
		callErr(t, web.HTTPRequest(cfg), map[string]any{"input": srv.URL}, tools.TypeTimeout)
	})
}

func TestHTTPRequestBodyLimit(t *testing.T) {
	srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
		body := strings.Repeat("x", 100)
		if r.URL.Path == "/chunked" {
			w.Write([]byte(body[:50]))
			w.(http.Flusher).Flush()
			w.Write([]byte(body[50:]))
			return
		}
		if r.URL.Path == "/exact" {
			body = body[:64]
		}
		w.Write([]byte(body))
	})
	tool := web.HTTPRequest(web.Config{Perm: hxtPerm(t, perm.Limits{MaxResponseBytes: 64})})
	for _, path := range []string{"/", "/chunked"} {
		msg := callErr(t, tool, map[string]any{"input": srv.URL + path}, tools.TypeTooLarge)
		if !strings.Contains(msg, "64-byte response limit") {
			t.Errorf("%s: message %q", path, msg)
		}
	}
	res := call(t, tool, map[string]any{"input": srv.URL + "/exact"})
	if len(res["body"].(string)) != 64 {
		t.Errorf("body of %d bytes at the limit", len(res["body"].(string)))
	}
}

func TestHTTPRequestPermission(t *testing.T) {
	tool := web.HTTPRequest(hxtConfig(t))
	t.Run("refused address", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": hxtDenied}, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
			t.Errorf("message %q", msg)
		}
	})
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		srv := hxtServe(t, hxtRedirectTo(hxtDenied+"x", code))
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "method": "POST", "body": "x"}, tools.TypePermission)
		if !strings.Contains(msg, "10.255.255.1") {
			t.Errorf("redirect %d: message %q", code, msg)
		}
	}
	t.Run("refused on a later hop", func(t *testing.T) {
		// Two redirects inside the allowed server, then one out of it.
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			switch r.URL.Path {
			case "/a":
				http.Redirect(w, r, "/b", http.StatusFound)
			case "/b":
				http.Redirect(w, r, strings.Replace(hxtDenied, "http://", "http://localhost@", 1)+"c", http.StatusFound)
			}
		})
		msg := callErr(t, tool, map[string]any{"input": srv.URL + "/a"}, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=10.255.255.1:81") || srv.hits.Load() != 2 {
			t.Errorf("message %q after %d hits", msg, srv.hits.Load())
		}
	})
	t.Run("redirect to another scheme", func(t *testing.T) {
		srv := hxtServe(t, hxtRedirectTo("ftp://127.0.0.1/x", http.StatusFound))
		callErr(t, tool, map[string]any{"input": srv.URL}, tools.TypePermission)
	})
	t.Run("allowed by --allow-net", func(t *testing.T) {
		dir := t.TempDir()
		p, err := perm.New(perm.Config{Base: dir, Net: []string{"10.255.255.1:82"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.CloseIdle)
		// Port 81 is still refused when only 82 is allowed.
		callErr(t, web.HTTPRequest(web.Config{Perm: p}), map[string]any{"input": hxtDenied}, tools.TypePermission)
	})
	t.Run("unreachable", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": hxtDeadURL(t)}, tools.TypeExecution)
		if !strings.Contains(msg, "connection refused") {
			t.Errorf("message %q", msg)
		}
	})
}

func TestHTTPRequestBadInput(t *testing.T) {
	srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(404)
		w.Write([]byte("nope"))
	})
	tool := web.HTTPRequest(hxtConfig(t))
	u := srv.URL
	hxtRunBad(t, tool, []hxtBadCase{
		{"missing input", map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{"input wrong type", map[string]any{"input": 5}, tools.TypeValidation, `"input": expected string`},
		{"unknown parameter", map[string]any{"input": u, "verb": "GET"}, tools.TypeValidation, `unknown parameter "verb"`},
		{"unknown method", map[string]any{"input": u, "method": "TRACE"}, tools.TypeValidation, `unknown value "TRACE"`},
		{"empty url", map[string]any{"input": "  "}, tools.TypeValidation, "empty URL"},
		{"ftp scheme", map[string]any{"input": "ftp://127.0.0.1/x"}, tools.TypeValidation, `scheme "ftp" is not supported`},
		{"file scheme", map[string]any{"input": "file:///etc/passwd"}, tools.TypeValidation, `scheme "file"`},
		{"no scheme", map[string]any{"input": "127.0.0.1/x"}, tools.TypeValidation, "no scheme"},
		{"no host", map[string]any{"input": "http:///x"}, tools.TypeValidation, "no host"},
		{"bad port", map[string]any{"input": "http://127.0.0.1:99999/"}, tools.TypeValidation, "out of range"},
		{"malformed url", map[string]any{"input": "http://[::1/"}, tools.TypeValidation, "invalid URL"},
		{"url too long", map[string]any{"input": "http://127.0.0.1/" + strings.Repeat("a", 64<<10)}, tools.TypeTooLarge, "65536-byte limit"},
		{"headers wrong type", map[string]any{"input": u, "headers": "x"}, tools.TypeValidation, `"headers": expected object`},
		{"header value object", map[string]any{"input": u, "headers": map[string]any{"X": map[string]any{}}}, tools.TypeValidation, `header "X": expected string`},
		{"header bad name", map[string]any{"input": u, "headers": map[string]any{"bad name": "v"}}, tools.TypeValidation, `"bad name" is not a valid header name`},
		{"header injection", map[string]any{"input": u, "headers": map[string]any{"X": "a\r\nEvil: 1"}}, tools.TypeValidation, "control character"},
		{"header set by client", map[string]any{"input": u, "headers": map[string]any{"content-length": "5"}}, tools.TypeValidation, "set by the HTTP client"},
		{"body NaN", map[string]any{"input": u, "method": "POST", "body": map[string]any{"x": math.NaN()}}, tools.TypeValidation, "cannot encode as JSON"},
		{"body too large", map[string]any{"input": u, "method": "POST", "body": strings.Repeat("x", 16<<20+1)}, tools.TypeTooLarge, "16777216-byte limit"},
		{"auth no type", map[string]any{"input": u, "auth": map[string]any{"token": "x"}}, tools.TypeValidation, `missing field "type"`},
		{"auth unknown type", map[string]any{"input": u, "auth": map[string]any{"type": "digest"}}, tools.TypeValidation, `unknown type "digest"`},
		{"auth basic no user", map[string]any{"input": u, "auth": map[string]any{"type": "basic", "password": "p"}}, tools.TypeValidation, `"username"`},
		{"auth basic colon", map[string]any{"input": u, "auth": map[string]any{"type": "basic", "username": "a:b"}}, tools.TypeValidation, "may not contain ':'"},
		{"auth bearer no token", map[string]any{"input": u, "auth": map[string]any{"type": "bearer"}}, tools.TypeValidation, `non-empty "token"`},
		{"auth wrong field", map[string]any{"input": u, "auth": map[string]any{"type": "bearer", "token": "t", "username": "u"}}, tools.TypeValidation, `field "username" does not apply`},
		{"auth field type", map[string]any{"input": u, "auth": map[string]any{"type": "bearer", "token": 5}}, tools.TypeValidation, `field "token": expected string`},
		{"auth token newline", map[string]any{"input": u, "auth": map[string]any{"type": "bearer", "token": "a\nb"}}, tools.TypeValidation, "control character"},
		{"auth api_key bad header", map[string]any{"input": u, "auth": map[string]any{"type": "api_key", "token": "t", "header": "a b"}}, tools.TypeValidation, "not a valid header name"},
		{"retry unknown field", map[string]any{"input": u, "retry": map[string]any{"attempts": 2}}, tools.TypeValidation, `unknown field "attempts"`},
		{"retry max_attempts 0", map[string]any{"input": u, "retry": map[string]any{"max_attempts": 0}}, tools.TypeValidation, "max_attempts 0 is not an integer in 1-10"},
		{"retry max_attempts 11", map[string]any{"input": u, "retry": map[string]any{"max_attempts": 11}}, tools.TypeValidation, "1-10"},
		{"retry backoff negative", map[string]any{"input": u, "retry": map[string]any{"backoff_ms": -1}}, tools.TypeValidation, "backoff_ms -1"},
		{"retry_on bad status", map[string]any{"input": u, "retry": map[string]any{"retry_on": []any{99}}}, tools.TypeValidation, "retry_on: item 1: 99 is not an HTTP status"},
		{"retry_on wrong type", map[string]any{"input": u, "retry": map[string]any{"retry_on": "503"}}, tools.TypeValidation, "retry_on: expected a status or a list"},
		{"timeout zero", map[string]any{"input": u, "timeout_ms": 0}, tools.TypeValidation, `"timeout_ms": 0 is out of range`},
		{"timeout huge", map[string]any{"input": u, "timeout_ms": 600001}, tools.TypeValidation, "out of range 1-600000"},
		{"timeout fractional", map[string]any{"input": u, "timeout_ms": 1.5}, tools.TypeValidation, "expected integer"},
		{"expect_status bad", map[string]any{"input": u, "expect_status": []any{700}}, tools.TypeValidation, "700 is not an HTTP status"},
		{"expect_status string", map[string]any{"input": u, "expect_status": "200"}, tools.TypeValidation, `"expect_status": expected a status`},
		{"expect_status mismatch", map[string]any{"input": u, "expect_status": 200}, tools.TypeExecution, "got status 404, want 200 (expect_status) after 1 attempt(s): nope"},
		{"expect_status list mismatch", map[string]any{"input": u, "expect_status": []any{200, 201}}, tools.TypeExecution, "want [200 201]"},
	})
}

func BenchmarkHTTPRequest(b *testing.B) {
	srv := hxtServe(b, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	tool := web.HTTPRequest(hxtConfig(b))
	params := map[string]any{"input": srv.URL + "/x", "headers": map[string]any{"X-A": "1"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
