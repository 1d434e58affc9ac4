package web_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// atServer answers /users/1 with a JSON user, /text with plain text,
// /fail with a 500, and echoes anything else.
func atServer(t testing.TB) *hxtServer {
	return hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/users/1":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "abc")
			w.Header().Add("Cache-Control", "no-cache")
			w.Header().Add("Cache-Control", "private")
			w.Write([]byte(`{"id":1,"name":"Ann","tags":["a","b"],"address":{"city":"Oslo"},"key.with.dots":true,"none":null,"big":10}`))
		case "/text":
			w.Write([]byte("hello world"))
		case "/fail":
			w.WriteHeader(500)
			w.Write([]byte("broken"))
		case "/long":
			w.Write([]byte(strings.Repeat("a", 511) + "é" + strings.Repeat("b", 100)))
		default:
			w.Header().Set("Content-Type", "application/json")
			json.MarshalWrite(w, map[string]any{"method": r.Method, "ct": r.Header.Get("Content-Type"), "auth": r.Header.Get("Authorization")})
		}
	})
}

// atAssertions indexes a result's assertions by name.
func atAssertions(t *testing.T, res map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, a := range res["assertions"].([]any) {
		m := a.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

func TestAPITesterPasses(t *testing.T) {
	srv := atServer(t)
	tool := web.APITester(hxtConfig(t))
	res := call(t, tool, map[string]any{"input": srv.URL + "/users/1", "expectations": map[string]any{
		"status":          []any{200, 201},
		"max_duration_ms": 5000,
		"body_contains":   `"name":"Ann"`,
		"json_path_equals": map[string]any{
			"name": "Ann", "$.id": int64(1), "tags[1]": "b", "address.city": "Oslo", `["key.with.dots"]`: true,
			"none": nil, "tags": []any{"a", "b"}, "address": map[string]any{"city": "Oslo"}, "big": 10.0,
		},
		"header_equals": map[string]any{"x-request-id": "abc", "Cache-Control": "no-cache, private"},
	}})
	if res["passed"] != true {
		t.Fatalf("passed %v: %v", res["passed"], res["assertions"])
	}
	names := []string{}
	for _, a := range res["assertions"].([]any) {
		m := a.(map[string]any)
		names = append(names, m["name"].(string))
		if _, ok := m["message"]; ok || m["passed"] != true {
			t.Errorf("assertion %v", m)
		}
	}
	wantNames := []string{"status", "max_duration_ms", "body_contains",
		"json_path_equals[$.id]", "json_path_equals[[\"key.with.dots\"]]", "json_path_equals[address]", "json_path_equals[address.city]",
		"json_path_equals[big]", "json_path_equals[name]", "json_path_equals[none]", "json_path_equals[tags]", "json_path_equals[tags[1]]",
		"header_equals[cache-control]", "header_equals[x-request-id]"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("assertion order\n got %q\nwant %q", names, wantNames)
	}
	resp := res["response"].(map[string]any)
	if resp["status_code"] != 200 || resp["is_success"] != true || resp["body_is_json"] != true ||
		resp["body_size"] != 106 || !strings.HasPrefix(resp["body_preview"].(string), `{"id":1`) {
		t.Errorf("response %v", resp)
	}
	if h := resp["headers"].(map[string]any); h["x-request-id"] != "abc" {
		t.Errorf("headers %v", h)
	}
	if req := res["request"].(map[string]any); req["method"] != "GET" || req["url"] != srv.URL+"/users/1" {
		t.Errorf("request %v", req)
	}
	if d, ok := res["timing"].(map[string]any)["duration_ms"].(float64); !ok || d < 0 {
		t.Errorf("timing %v", res["timing"])
	}

	t.Run("no expectations: 2xx", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/text"})
		as := atAssertions(t, res)
		if res["passed"] != true || len(as) != 1 || as["status"]["expected"] != "2xx" || as["status"]["actual"] != 200 {
			t.Errorf("result %v", res)
		}
		if res["response"].(map[string]any)["body_is_json"] != false {
			t.Errorf("text body taken for JSON")
		}
	})
	t.Run("expected error status", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/fail", "expectations": map[string]any{"status": 500}})
		if res["passed"] != true || res["response"].(map[string]any)["is_success"] != false {
			t.Errorf("result %v", res)
		}
	})
	t.Run("request body, method and auth", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/echo", "method": "POST", "body": map[string]any{"x": 1},
			"auth": map[string]any{"type": "bearer", "token": "t"}, "headers": map[string]any{"X-A": "1"},
			"expectations": map[string]any{"json_path_equals": map[string]any{"method": "POST", "ct": "application/json", "auth": "Bearer t"}}})
		if res["passed"] != true {
			t.Errorf("assertions %v", res["assertions"])
		}
		if got := srv.last(t); got.Body != `{"x":1}` || got.Header.Get("X-A") != "1" {
			t.Errorf("server got %+v", got)
		}
	})
	t.Run("preview cut on a character boundary", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/long"})
		resp := res["response"].(map[string]any)
		if p := resp["body_preview"].(string); p != strings.Repeat("a", 511) || resp["body_size"] != 613 {
			t.Errorf("preview of %d bytes, body_size %v", len(p), resp["body_size"])
		}
	})
}

func TestAPITesterFailures(t *testing.T) {
	srv := atServer(t)
	tool := web.APITester(hxtConfig(t))
	expect := map[string]any{
		"status":          201,
		"max_duration_ms": 0,
		"body_contains":   "Bob",
		"json_path_equals": map[string]any{
			"name": "Bob", "missing.key": 1, "tags[5]": "x", "id": "1", "address": map[string]any{}, "tags": []any{"a"},
		},
		"header_equals": map[string]any{"X-Request-Id": "xyz", "X-Absent": "1"},
	}
	res := call(t, tool, map[string]any{"input": srv.URL + "/users/1", "expectations": expect})
	if res["passed"] != false {
		t.Fatalf("passed %v", res["passed"])
	}
	as := atAssertions(t, res)
	want := map[string]string{
		"status":                        "status 200, want 201",
		"max_duration_ms":               "over the 0 ms allowed",
		"body_contains":                 `the body does not contain "Bob"`,
		"json_path_equals[name]":        `at name got "Ann", want "Bob"`,
		"json_path_equals[missing.key]": "path missing.key not found",
		"json_path_equals[tags[5]]":     "path tags[5] not found",
		"json_path_equals[id]":          `at id got 1, want "1"`,
		"json_path_equals[address]":     `at address got {"city":"Oslo"}, want {}`,
		"json_path_equals[tags]":        `at tags got ["a","b"], want ["a"]`,
		"header_equals[x-request-id]":   `header x-request-id is "abc", want "xyz"`,
		"header_equals[x-absent]":       "header x-absent is absent",
	}
	if len(as) != len(want) {
		t.Errorf("%d assertions, want %d: %v", len(as), len(want), as)
	}
	for name, msg := range want {
		a, ok := as[name]
		if !ok {
			t.Errorf("no assertion %s", name)
			continue
		}
		if a["passed"] != false || !strings.Contains(a["message"].(string), msg) {
			t.Errorf("%s: %v, want a failure saying %q", name, a, msg)
		}
	}
	if a := as["status"]; a["expected"] != 201 || a["actual"] != 200 {
		t.Errorf("status assertion %v", a)
	}

	t.Run("default status on a 500", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/fail"})
		as := atAssertions(t, res)
		if res["passed"] != false || as["status"]["message"] != "status 500 is not 2xx" {
			t.Errorf("result %v", res)
		}
	})
	t.Run("json path on a text body", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/text", "expectations": map[string]any{"json_path_equals": map[string]any{"a": 1}}})
		if a := atAssertions(t, res)["json_path_equals[a]"]; a["passed"] != false || a["message"] != "the body is not JSON" {
			t.Errorf("assertion %v", a)
		}
	})
	t.Run("fail_on_mismatch", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": srv.URL + "/users/1", "expectations": expect, "fail_on_mismatch": true}, tools.TypeExecution)
		for _, s := range []string{"status 200: 11 of 11 assertions failed", "status: status 200, want 201", `header_equals[x-absent]: header x-absent is absent`} {
			if !strings.Contains(msg, s) {
				t.Errorf("message %q does not contain %q", msg, s)
			}
		}
		res := call(t, tool, map[string]any{"input": srv.URL + "/users/1", "fail_on_mismatch": true,
			"expectations": map[string]any{"json_path_equals": map[string]any{"name": "Ann"}}})
		if res["passed"] != true {
			t.Errorf("result %v", res)
		}
	})
}

func TestAPITesterNetwork(t *testing.T) {
	tool := web.APITester(hxtConfig(t))
	if msg := callErr(t, tool, map[string]any{"input": hxtDenied}, tools.TypePermission); !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
		t.Errorf("message %q", msg)
	}
	redir := hxtServe(t, hxtRedirectTo(hxtDenied+"x", http.StatusMovedPermanently))
	if msg := callErr(t, tool, map[string]any{"input": redir.URL}, tools.TypePermission); !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
		t.Errorf("message %q", msg)
	}
	if msg := callErr(t, tool, map[string]any{"input": hxtDeadURL(t)}, tools.TypeExecution); !strings.Contains(msg, "refused") {
		t.Errorf("message %q", msg)
	}
	var slow *hxtServer
	slow = hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { slow.block(r) })
	callErr(t, tool, map[string]any{"input": slow.URL, "timeout_ms": 50}, tools.TypeTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, typ, msg := hxtCallCtx(ctx, tool, map[string]any{"input": slow.URL}); typ != tools.TypeCancelled {
		t.Errorf("cancelled: %s %s", typ, msg)
	}

	big := atServer(t)
	small := web.APITester(web.Config{Perm: hxtPerm(t, perm.Limits{MaxResponseBytes: 32})})
	if msg := callErr(t, small, map[string]any{"input": big.URL + "/users/1"}, tools.TypeTooLarge); !strings.Contains(msg, "32-byte response limit") {
		t.Errorf("message %q", msg)
	}
}

func TestAPITesterBadInput(t *testing.T) {
	srv := atServer(t)
	tool := web.APITester(hxtConfig(t))
	u := srv.URL
	ex := func(m map[string]any) map[string]any { return map[string]any{"input": u, "expectations": m} }
	hxtRunBad(t, tool, []hxtBadCase{
		{"missing input", map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{"bad scheme", map[string]any{"input": "gopher://127.0.0.1/"}, tools.TypeValidation, `scheme "gopher" is not supported`},
		{"bad method", map[string]any{"input": u, "method": "get"}, tools.TypeValidation, `unknown value "get"`},
		{"expectations wrong type", map[string]any{"input": u, "expectations": []any{1}}, tools.TypeValidation, `"expectations": expected object`},
		{"unknown expectation", ex(map[string]any{"status_code": 200}), tools.TypeValidation, `unknown field "status_code"`},
		{"status out of range", ex(map[string]any{"status": 99}), tools.TypeValidation, "99 is not an HTTP status"},
		{"status string", ex(map[string]any{"status": "200"}), tools.TypeValidation, "expected a status or a list"},
		{"duration negative", ex(map[string]any{"max_duration_ms": -1}), tools.TypeValidation, "max_duration_ms: expected a non-negative number"},
		{"duration string", ex(map[string]any{"max_duration_ms": "1s"}), tools.TypeValidation, "max_duration_ms"},
		{"body_contains number", ex(map[string]any{"body_contains": 5}), tools.TypeValidation, "body_contains: expected string, got number"},
		{"json_path_equals list", ex(map[string]any{"json_path_equals": []any{"a"}}), tools.TypeValidation, "json_path_equals: expected object"},
		{"path empty", ex(map[string]any{"json_path_equals": map[string]any{"": 1}}), tools.TypeValidation, "empty path"},
		{"path empty key", ex(map[string]any{"json_path_equals": map[string]any{"a..b": 1}}), tools.TypeValidation, "empty key"},
		{"path trailing dot", ex(map[string]any{"json_path_equals": map[string]any{"a.": 1}}), tools.TypeValidation, "ends with '.'"},
		{"path bad index", ex(map[string]any{"json_path_equals": map[string]any{"a[x]": 1}}), tools.TypeValidation, `index "x" is not a non-negative integer`},
		{"path negative index", ex(map[string]any{"json_path_equals": map[string]any{"a[-1]": 1}}), tools.TypeValidation, "non-negative"},
		{"path unclosed", ex(map[string]any{"json_path_equals": map[string]any{"a[0": 1}}), tools.TypeValidation, "missing ']'"},
		{"path unterminated quote", ex(map[string]any{"json_path_equals": map[string]any{`a["b]`: 1}}), tools.TypeValidation, "unterminated quoted key"},
		{"path junk after index", ex(map[string]any{"json_path_equals": map[string]any{"a[0]b": 1}}), tools.TypeValidation, "expected '.' or '['"},
		{"path too long", ex(map[string]any{"json_path_equals": map[string]any{strings.Repeat("a", 1025): 1}}), tools.TypeValidation, "longer than 1024 bytes"},
		{"path too deep", ex(map[string]any{"json_path_equals": map[string]any{strings.Repeat("a.", 64) + "a": 1}}), tools.TypeValidation, "more than 64 steps"},
		{"too many paths", ex(map[string]any{"json_path_equals": atMany(101)}), tools.TypeTooLarge, "101 paths exceed the limit of 100"},
		{"header_equals bad name", ex(map[string]any{"header_equals": map[string]any{"a b": "x"}}), tools.TypeValidation, `"a b" is not a valid header name`},
		{"header_equals object value", ex(map[string]any{"header_equals": map[string]any{"X": map[string]any{"a": 1}}}), tools.TypeValidation, `header "X": expected string`},
		{"fail_on_mismatch wrong type", map[string]any{"input": u, "fail_on_mismatch": 1}, tools.TypeValidation, "expected boolean"},
		{"header injection", map[string]any{"input": u, "headers": map[string]any{"X": "a\nb"}}, tools.TypeValidation, "control character"},
	})
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("bad input reached the server %d times", n)
	}
}

func atMany(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m["k"+strings.Repeat("x", i)] = i
	}
	return m
}

func BenchmarkAPITester(b *testing.B) {
	srv := atServer(b)
	tool := web.APITester(hxtConfig(b))
	params := map[string]any{"input": srv.URL + "/users/1", "expectations": map[string]any{
		"status": 200, "max_duration_ms": 5000, "body_contains": "Ann",
		"json_path_equals": map[string]any{"name": "Ann", "tags[0]": "a"}, "header_equals": map[string]any{"X-Request-Id": "abc"},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
