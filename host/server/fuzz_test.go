package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandler sends whatever method, path, query, headers and body the
// fuzzer makes up through the server's handler: every answer is a status
// from 200 to 599 and, but for the event stream and the metrics, the JSON
// envelope; nothing panics.
func FuzzHandler(f *testing.F) {
	for _, s := range [][4]string{
		{"POST", "/v1/tools/calculator/invoke", "timeout=1s", `{"input": "1+2"}`},
		{"POST", "/v1/request", "", `{"command": "task_submit", "name": "calculator", "params": {"input": "1"}}`},
		{"GET", "/v1/tasks", "page=2&page_size=3&state=queued", ""},
		{"DELETE", "/v1/tasks/t-000001", "", ""},
		{"GET", "/v1/tools", "q=%zz", ""},
		{"GET", "/v1//tools/../x", "", ""},
		{"PUT", "/v1/tasks", "", "{"},
		{"POST", "/v1/tasks", "", `{"name": "calculator", "tags": {"": "x"}}`},
		{"GET", "/readyz", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], "Bearer "+aliceKey)
	}
	ts := start(f, nil)
	h := ts.srv.Handler()
	f.Fuzz(func(t *testing.T, method, path, query, body, auth string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path+query, " \x00\r\n#?") {
			return // not something net/http would hand over
		}
		if strings.HasSuffix(strings.Split(path, "?")[0], "/events") {
			return // a stream of a running task lasts as long as the task
		}
		u, err := url.Parse("http://x" + path)
		if err != nil {
			return // net/http refuses it before any handler
		}
		u.RawQuery = query
		req := httptest.NewRequest(method, "http://x/", strings.NewReader(body))
		req.URL, req.RequestURI = u, u.RequestURI()
		if !strings.ContainsAny(auth, "\r\n\x00") {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("%s %s?%s: status %d", method, path, query, rec.Code)
		}
		probe := path == "/healthz" || path == "/readyz"
		if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "application/json") && method != "HEAD" && !probe {
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Status == "" {
				t.Fatalf("%s %s?%s: not an envelope: %v %q", method, path, query, err, rec.Body.String())
			}
			if (env.Status == "ok") != (rec.Code < 300) {
				t.Fatalf("%s %s?%s: %d with status %q", method, path, query, rec.Code, env.Status)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return m != http.MethodConnect
}
