package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// whStatuses answers the nth request with statuses[n-1] (the last one
// repeats) and a body naming the attempt.
func whStatuses(statuses ...int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(statuses[min(n, len(statuses))-1])
		w.Write([]byte("reply " + string(rune('0'+n))))
	}
}

func TestWebhookCallerDelivers(t *testing.T) {
	srv := hxtServe(t, whStatuses(202))
	tool := web.WebhookCaller(hxtConfig(t))
	res := call(t, tool, map[string]any{"input": srv.URL + "/hook", "payload": map[string]any{"event": "push", "n": int64(3)},
		"headers": map[string]any{"X-Event": "push"}, "sign": "s3cret"})
	if res["status_code"] != 202 || res["attempts"] != 1 || res["delivered"] != true || res["response"] != "reply 1" ||
		res["response_encoding"] != "utf-8" || res["response_truncated"] != false {
		t.Errorf("result %v", res)
	}
	if d, ok := res["duration_ms"].(float64); !ok || d < 0 {
		t.Errorf("duration_ms %v", res["duration_ms"])
	}
	got := srv.last(t)
	if got.Method != "POST" || got.Path != "/hook" || got.Body != `{"event":"push","n":3}` ||
		got.Header.Get("Content-Type") != "application/json" || got.Header.Get("X-Event") != "push" ||
		got.Header.Get("User-Agent") != "spellhost/1" {
		t.Errorf("server got %+v", got)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(got.Body))
	if sig := got.Header.Get("X-Signature"); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Signature %q", sig)
	}

	t.Run("string payload is JSON", func(t *testing.T) {
		call(t, tool, map[string]any{"input": srv.URL, "payload": `say "hi"`, "method": "PUT"})
		if got := srv.last(t); got.Body != `"say \"hi\""` || got.Method != "PUT" || got.Header.Get("X-Signature") != "" {
			t.Errorf("server got %+v", got)
		}
	})
	t.Run("no payload", func(t *testing.T) {
		call(t, tool, map[string]any{"input": srv.URL, "method": "PATCH"})
		if got := srv.last(t); got.Body != "" || got.Method != "PATCH" || got.Header.Get("Content-Type") != "" {
			t.Errorf("server got %+v", got)
		}
	})
	t.Run("given content type kept", func(t *testing.T) {
		call(t, tool, map[string]any{"input": srv.URL, "payload": []any{1}, "headers": map[string]any{"content-type": "application/cloudevents+json"}})
		if got := srv.last(t); got.Body != "[1]" || got.Header.Get("Content-Type") != "application/cloudevents+json" {
			t.Errorf("server got %+v", got)
		}
	})
	t.Run("binary reply", func(t *testing.T) {
		bin := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { w.Write([]byte{0xff, 0xfe}) })
		res := call(t, tool, map[string]any{"input": bin.URL})
		if res["response"] != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}) || res["response_encoding"] != "base64" {
			t.Errorf("result %v", res)
		}
	})
}

func TestWebhookCallerRetries(t *testing.T) {
	tool := web.WebhookCaller(hxtConfig(t))
	t.Run("5xx then delivered", func(t *testing.T) {
		srv := hxtServe(t, whStatuses(500, 503, 429, 200))
		res := call(t, tool, map[string]any{"input": srv.URL, "payload": "x", "backoff_ms": 0})
		if res["status_code"] != 200 || res["attempts"] != 4 || res["response"] != "reply 4" || srv.hits.Load() != 4 {
			t.Fatalf("result %v after %d hits", res, srv.hits.Load())
		}
		for _, got := range srv.all() {
			if got.Body != `"x"` {
				t.Errorf("attempt sent %q, want the payload every time", got.Body)
			}
		}
	})
	t.Run("retries spent", func(t *testing.T) {
		srv := hxtServe(t, whStatuses(503))
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "max_retries": 2, "backoff_ms": 0}, tools.TypeExecution)
		if !strings.Contains(msg, "not delivered: status 503 after 3 attempts: reply 3") || srv.hits.Load() != 3 {
			t.Fatalf("message %q after %d hits", msg, srv.hits.Load())
		}
	})
	t.Run("4xx is not retried", func(t *testing.T) {
		srv := hxtServe(t, whStatuses(400))
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "backoff_ms": 0}, tools.TypeExecution)
		if !strings.Contains(msg, "status 400 after 1 attempt (not retried: only 5xx and 429 are)") || srv.hits.Load() != 1 {
			t.Fatalf("message %q after %d hits", msg, srv.hits.Load())
		}
	})
	t.Run("max_retries 0", func(t *testing.T) {
		srv := hxtServe(t, whStatuses(502))
		callErr(t, tool, map[string]any{"input": srv.URL, "max_retries": 0}, tools.TypeExecution)
		if srv.hits.Load() != 1 {
			t.Fatalf("%d hits", srv.hits.Load())
		}
	})
	t.Run("connection failures are retried and counted", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": hxtDeadURL(t), "max_retries": 2, "backoff_ms": 0}, tools.TypeExecution)
		if !strings.Contains(msg, "(attempt 3 of 3)") || !strings.Contains(msg, "refused") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("timeouts are retried", func(t *testing.T) {
		var srv *hxtServer
		srv = hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { srv.block(r) })
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "max_retries": 1, "backoff_ms": 0, "timeout_ms": 30}, tools.TypeTimeout)
		if !strings.Contains(msg, "(attempt 2 of 2)") || srv.hits.Load() != 2 {
			t.Fatalf("message %q after %d hits", msg, srv.hits.Load())
		}
	})
	t.Run("no retry past the caller's deadline", func(t *testing.T) {
		// Retry-After asks for 1 s; the caller allows 300 ms: the first reply stands.
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": srv.URL, "backoff_ms": 0})
		if typ != tools.TypeExecution || !strings.Contains(msg, "status 429 after 1 attempt") || srv.hits.Load() != 1 {
			t.Fatalf("%s %q after %d hits", typ, msg, srv.hits.Load())
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("took %v: the tool waited for a retry it could not make", d)
		}
	})
	t.Run("caller cancels during the backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The server answers 503, then cancels the caller, which is by
		// then reading the reply or waiting out the 5 s backoff.
		srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(503)
			w.(http.Flusher).Flush()
			cancel()
		})
		start := time.Now()
		_, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": srv.URL, "backoff_ms": 5000})
		if typ != tools.TypeCancelled || time.Since(start) > 2*time.Second {
			t.Fatalf("%s %q after %v", typ, msg, time.Since(start))
		}
	})
}

func TestWebhookCallerRedirects(t *testing.T) {
	tool := web.WebhookCaller(hxtConfig(t))
	target := hxtServe(t, whStatuses(200))
	t.Run("307 keeps method and body", func(t *testing.T) {
		srv := hxtServe(t, hxtRedirectTo(target.URL+"/moved", http.StatusTemporaryRedirect))
		res := call(t, tool, map[string]any{"input": srv.URL, "payload": map[string]any{"a": 1}})
		if got := target.last(t); res["status_code"] != 200 || got.Method != "POST" || got.Path != "/moved" || got.Body != `{"a":1}` {
			t.Errorf("result %v, target got %+v", res, got)
		}
	})
	t.Run("302 is not delivery", func(t *testing.T) {
		srv := hxtServe(t, hxtRedirectTo(target.URL+"/moved", http.StatusFound))
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "payload": 1}, tools.TypeExecution)
		if !strings.Contains(msg, "status 302 after 1 attempt") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("307 to a refused host", func(t *testing.T) {
		srv := hxtServe(t, hxtRedirectTo(hxtDenied+"hook", http.StatusTemporaryRedirect))
		msg := callErr(t, tool, map[string]any{"input": srv.URL, "payload": 1, "backoff_ms": 0}, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=10.255.255.1:81") || srv.hits.Load() != 1 {
			t.Errorf("message %q after %d hits (a refusal is not retried)", msg, srv.hits.Load())
		}
	})
	t.Run("refused host", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": hxtDenied}, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
			t.Errorf("message %q", msg)
		}
	})
}

func TestWebhookCallerTruncates(t *testing.T) {
	big := strings.Repeat("é", 40<<10) // 80 KiB
	srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { w.Write([]byte(big)) })
	res := call(t, web.WebhookCaller(hxtConfig(t)), map[string]any{"input": srv.URL})
	if s := res["response"].(string); len(s) != 64<<10 || res["response_truncated"] != true || res["response_encoding"] != "utf-8" {
		t.Errorf("response of %d bytes, truncated %v, encoding %v", len(s), res["response_truncated"], res["response_encoding"])
	}
	small := web.WebhookCaller(web.Config{Perm: hxtPerm(t, perm.Limits{MaxResponseBytes: 33})})
	res = call(t, small, map[string]any{"input": srv.URL})
	// 33 bytes cut a two-byte character: the partial one is dropped.
	if s := res["response"].(string); s != strings.Repeat("é", 16) || res["response_truncated"] != true {
		t.Errorf("response %q, truncated %v", s, res["response_truncated"])
	}
}

func TestWebhookCallerBadInput(t *testing.T) {
	srv := hxtServe(t, whStatuses(200))
	tool := web.WebhookCaller(hxtConfig(t))
	u := srv.URL
	hxtRunBad(t, tool, []hxtBadCase{
		{"missing input", map[string]any{"payload": 1}, tools.TypeValidation, `missing required parameter "input"`},
		{"bad url", map[string]any{"input": "hook.example/x"}, tools.TypeValidation, "no scheme"},
		{"javascript url", map[string]any{"input": "javascript:alert(1)"}, tools.TypeValidation, `scheme "javascript" is not supported`},
		{"method GET", map[string]any{"input": u, "method": "GET"}, tools.TypeValidation, `unknown value "GET"; allowed: POST, PUT, PATCH`},
		{"max_retries negative", map[string]any{"input": u, "max_retries": -1}, tools.TypeValidation, `"max_retries": -1 is out of range 0-10`},
		{"max_retries 11", map[string]any{"input": u, "max_retries": 11}, tools.TypeValidation, "0-10"},
		{"backoff too long", map[string]any{"input": u, "backoff_ms": 5001}, tools.TypeValidation, `"backoff_ms": 5001 is out of range 0-5000`},
		{"timeout zero", map[string]any{"input": u, "timeout_ms": 0}, tools.TypeValidation, "out of range"},
		{"payload NaN", map[string]any{"input": u, "payload": []any{1.0, math.Inf(1)}}, tools.TypeValidation, `"payload": cannot encode as JSON`},
		{"payload too large", map[string]any{"input": u, "payload": strings.Repeat("x", 16<<20)}, tools.TypeTooLarge, "16777216-byte limit"},
		{"empty secret", map[string]any{"input": u, "sign": ""}, tools.TypeValidation, `"sign": empty secret`},
		{"sign wrong type", map[string]any{"input": u, "sign": 5}, tools.TypeValidation, `"sign": expected string`},
		{"header hop-by-hop", map[string]any{"input": u, "headers": map[string]any{"Transfer-Encoding": "chunked"}}, tools.TypeValidation, "set by the HTTP client"},
		{"unknown parameter", map[string]any{"input": u, "retries": 2}, tools.TypeValidation, `unknown parameter "retries"`},
	})
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("bad input reached the server %d times", n)
	}
}

func BenchmarkWebhookCaller(b *testing.B) {
	srv := hxtServe(b, whStatuses(204))
	tool := web.WebhookCaller(hxtConfig(b))
	params := map[string]any{"input": srv.URL + "/hook", "payload": map[string]any{"event": "push", "id": 42}, "sign": "k"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
