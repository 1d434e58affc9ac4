package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/web"
)

func urlTool(t *testing.T) tools.Tool {
	t.Helper()
	p, _ := testPerm(t)
	return web.URLAnalyzer(web.Config{Perm: p, HTTPTimeout: 10 * time.Second})
}

func TestURLAnalyzerSpec(t *testing.T) {
	tool := urlTool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "url-analyzer" || spec.Returns == "" || spec.Example == nil {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	res := call(t, tool, spec.Example)
	if res["normalized"] != "https://example.com/a/c?a=1&a=3&b=2#top" {
		t.Errorf("example normalized = %v", res["normalized"])
	}
}

func TestURLAnalyzerParse(t *testing.T) {
	tool := urlTool(t)
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]any
	}{
		{"normalize", map[string]any{"input": "HTTPS://Example.COM:443/a/./b/../c?b=2&a=1&a=3#top"}, map[string]any{
			"valid": true, "normalized": "https://example.com/a/c?a=1&a=3&b=2#top", "scheme": "https", "host": "example.com",
			"port": 443, "path": "/a/c", "query_params": map[string]any{"a": []any{"1", "3"}, "b": "2"}, "fragment": "top",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "com", "default_port": true,
		}},
		{"user and private ip", map[string]any{"input": "http://user:secret@10.0.0.5:8080/x%7ey/%2fz?q=a+b%20c"}, map[string]any{
			"valid": true, "normalized": "http://user@10.0.0.5:8080/x~y/%2Fz?q=a+b%20c", "scheme": "http", "host": "10.0.0.5",
			"port": 8080, "path": "/x~y/%2Fz", "query_params": map[string]any{"q": "a b c"}, "fragment": "",
			"user": "user", "has_password": true, "is_ip": true, "is_private": true, "tld": "", "default_port": false,
		}},
		{"ipv6 zone", map[string]any{"input": "http://[FE80::1%25eth0]:80"}, map[string]any{
			"valid": true, "normalized": "http://[fe80::1%25eth0]/", "scheme": "http", "host": "fe80::1%eth0",
			"port": 80, "path": "/", "query_params": map[string]any{}, "fragment": "",
			"user": "", "has_password": false, "is_ip": true, "is_private": true, "tld": "", "default_port": true,
		}},
		{"public ip", map[string]any{"input": "https://8.8.8.8:8443/dns"}, map[string]any{
			"valid": true, "normalized": "https://8.8.8.8:8443/dns", "scheme": "https", "host": "8.8.8.8",
			"port": 8443, "path": "/dns", "query_params": map[string]any{}, "fragment": "",
			"user": "", "has_password": false, "is_ip": true, "is_private": false, "tld": "", "default_port": false,
		}},
		{"localhost and explicit default port", map[string]any{"input": "  http://LocalHost:080/../a/b/.?&&x=1&  "}, map[string]any{
			"valid": true, "normalized": "http://localhost/a/b/?x=1", "scheme": "http", "host": "localhost",
			"port": 80, "path": "/a/b/", "query_params": map[string]any{"x": "1"}, "fragment": "",
			"user": "", "has_password": false, "is_ip": false, "is_private": true, "tld": "", "default_port": true,
		}},
		{"other scheme, no path", map[string]any{"input": "redis://cache.internal.:6380"}, map[string]any{
			"valid": true, "normalized": "redis://cache.internal.:6380", "scheme": "redis", "host": "cache.internal.",
			"port": 6380, "path": "", "query_params": map[string]any{}, "fragment": "",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "internal", "default_port": false,
		}},
		{"unknown scheme", map[string]any{"input": "Custom://Host.IO/p?#"}, map[string]any{
			"valid": true, "normalized": "custom://host.io/p", "scheme": "custom", "host": "host.io",
			"port": nil, "path": "/p", "query_params": map[string]any{}, "fragment": "",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "io", "default_port": true,
		}},
		{"raw params", map[string]any{"input": "http://h.example/?q=a%20b&flag&q=c+d#sec%20two", "decode_params": false}, map[string]any{
			"valid": true, "normalized": "http://h.example/?flag&q=a%20b&q=c+d#sec%20two", "scheme": "http", "host": "h.example",
			"port": 80, "path": "/", "query_params": map[string]any{"q": []any{"a%20b", "c+d"}, "flag": ""}, "fragment": "sec%20two",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "example", "default_port": true,
		}},
		{"decoded params", map[string]any{"input": "http://h.example/?q=a%20b&flag&q=c+d&k%3D=%e2%82%ac#sec%20two"}, map[string]any{
			"valid": true, "normalized": "http://h.example/?flag&k%3D=%E2%82%AC&q=a%20b&q=c+d#sec%20two", "scheme": "http", "host": "h.example",
			"port": 80, "path": "/", "query_params": map[string]any{"q": []any{"a b", "c d"}, "flag": "", "k=": "€"}, "fragment": "sec two",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "example", "default_port": true,
		}},
		{"query escaping", map[string]any{"input": "http://h.example/?z=a b&é=1&k=\"{x}\""}, map[string]any{
			"valid": true, "normalized": "http://h.example/?%C3%A9=1&k=%22%7Bx%7D%22&z=a%20b", "scheme": "http", "host": "h.example",
			"port": 80, "path": "/", "query_params": map[string]any{"z": "a b", "é": "1", "k": `"{x}"`}, "fragment": "",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "example", "default_port": true,
		}},
		{"encoded dot segments", map[string]any{"input": "https://x.org/a/%2E%2e/b/%7Euser//c"}, map[string]any{
			"valid": true, "normalized": "https://x.org/b/~user//c", "scheme": "https", "host": "x.org",
			"port": 443, "path": "/b/~user//c", "query_params": map[string]any{}, "fragment": "",
			"user": "", "has_password": false, "is_ip": false, "is_private": false, "tld": "org", "default_port": true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, tool, tc.params)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestURLAnalyzerErrors(t *testing.T) {
	tool := urlTool(t)
	tests := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		msg    string
	}{
		{"missing input", map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{"input wrong type", map[string]any{"input": 5}, tools.TypeValidation, `"input": expected string`},
		{"fetch wrong type", map[string]any{"input": "http://a.com", "fetch_metadata": "yes"}, tools.TypeValidation, `"fetch_metadata": expected boolean`},
		{"unknown parameter", map[string]any{"input": "http://a.com", "follow": true}, tools.TypeValidation, `unknown parameter "follow"`},
		{"empty", map[string]any{"input": "   "}, tools.TypeValidation, "empty URL"},
		{"no scheme", map[string]any{"input": "example.com/path"}, tools.TypeValidation, "no scheme"},
		{"no host opaque", map[string]any{"input": "mailto:a@b.com"}, tools.TypeValidation, "no host"},
		{"no host empty", map[string]any{"input": "http:///path"}, tools.TypeValidation, "no host"},
		{"port range", map[string]any{"input": "http://h.com:99999/"}, tools.TypeValidation, `port "99999" is out of range`},
		{"port zero", map[string]any{"input": "http://h.com:0/"}, tools.TypeValidation, `port "0" is out of range`},
		{"bad port", map[string]any{"input": "http://h.com:abc/"}, tools.TypeValidation, "invalid port"},
		{"bad host", map[string]any{"input": "http://a b.com/"}, tools.TypeValidation, "invalid URL"},
		{"bad path escape", map[string]any{"input": "http://a.com/%zz"}, tools.TypeValidation, "invalid URL"},
		{"bad query escape", map[string]any{"input": "http://a.com/?q=%zz"}, tools.TypeValidation, `invalid percent-escape "%zz"`},
		{"truncated query escape", map[string]any{"input": "http://a.com/?q=%4", "decode_params": false}, tools.TypeValidation, `invalid percent-escape "%4"`},
		{"too large", map[string]any{"input": "http://a.com/?q=" + strings.Repeat("a", 70_000)}, tools.TypeTooLarge, "exceeds the 65536-byte limit"},
		{"fetch non-http", map[string]any{"input": "ftp://127.0.0.1/", "fetch_metadata": true}, tools.TypeValidation, "only http and https"},
		{"fetch private address", map[string]any{"input": "http://10.255.255.1/", "fetch_metadata": true}, tools.TypePermission, "--allow-net=10.255.255.1:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
		})
	}
}

func TestURLAnalyzerFetch(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><meta charset="utf-8">
<title>  Fish &amp;
  Chips </title>
<meta name="Description" content="Best in town">
<link rel="alternate canonical" href="/canon?x=1">
<meta property="og:title" content="ignored">
</head><body><title>not this</title></body></html>`)
	})
	mux.HandleFunc("/og", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><meta property="og:title" content="OG Title"><meta property="og:description" content="OG desc"></head><body></body></html>`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<title>Not Found</title>`)
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"title":"no"}`)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/page", http.StatusFound)
	})
	mux.HandleFunc("/escape", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.255.255.1/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tool := urlTool(t)

	tests := []struct {
		path string
		want map[string]any
	}{
		{"/page", map[string]any{"status_code": 200, "content_type": "text/html; charset=utf-8", "title": "Fish & Chips",
			"description": "Best in town", "canonical": srv.URL + "/canon?x=1", "final_url": srv.URL + "/page"}},
		{"/redirect", map[string]any{"status_code": 200, "content_type": "text/html; charset=utf-8", "title": "Fish & Chips",
			"description": "Best in town", "canonical": srv.URL + "/canon?x=1", "final_url": srv.URL + "/page"}},
		{"/og", map[string]any{"status_code": 200, "content_type": "text/html", "title": "OG Title",
			"description": "OG desc", "canonical": "", "final_url": srv.URL + "/og"}},
		{"/missing", map[string]any{"status_code": 404, "content_type": "text/html", "title": "Not Found",
			"description": "", "canonical": "", "final_url": srv.URL + "/missing"}},
		{"/data", map[string]any{"status_code": 200, "content_type": "application/json", "title": "",
			"description": "", "canonical": "", "final_url": srv.URL + "/data"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res := call(t, tool, map[string]any{"input": srv.URL + tc.path, "fetch_metadata": true})
			if !reflect.DeepEqual(res["metadata"], tc.want) {
				t.Errorf("metadata\n got  %v\n want %v", res["metadata"], tc.want)
			}
			if res["is_private"] != true || res["is_ip"] != true {
				t.Errorf("127.0.0.1: is_private %v is_ip %v", res["is_private"], res["is_ip"])
			}
		})
	}

	t.Run("redirect to a denied host", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"input": srv.URL + "/escape", "fetch_metadata": true}, tools.TypePermission)
		if !strings.Contains(msg, "10.255.255.1") {
			t.Errorf("message %q does not name the host", msg)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tools.Call(ctx, tool, map[string]any{"input": srv.URL + "/page", "fetch_metadata": true})
		if got := tools.TypeOf(err); got != tools.TypeCancelled {
			t.Fatalf("error type %s (%v), want cancelled", got, err)
		}
	})
	t.Run("no metadata without fetch", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": srv.URL + "/page"})
		if _, ok := res["metadata"]; ok {
			t.Error("metadata present without fetch_metadata")
		}
	})
}

func BenchmarkURLAnalyzer(b *testing.B) {
	tool := web.URLAnalyzer(web.Config{})
	params := map[string]any{"input": "https://Example.com/docs/./guide/../index.html?b=2&a=1#intro"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzURLAnalyzer checks that no input panics and that normalization is
// idempotent: the normalized URL normalizes to itself.
func FuzzURLAnalyzer(f *testing.F) {
	for _, s := range []string{
		"HTTPS://Example.COM:443/a/./b/../c?b=2&a=1&a=3#top",
		"http://user:pw@[fe80::1%25en0]:8080/%7e/..?x=%41&&y#f%20g",
		"redis://h:6380", "ftp://a.b.c./x/../../y/.", "http://h/a//b/%2e/", "x://h?=&=#", "A://%250", "http://%ff/", "A://[::%25%20]", "A://::", "http://[abc]/", "A://0?0&0 #", "http://h/?q=a b&é=\"{x}\"",
	} {
		f.Add(s)
	}
	tool := web.URLAnalyzer(web.Config{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		res, err := tools.Call(ctx, tool, map[string]any{"input": s})
		if err != nil {
			if tools.TypeOf(err) != tools.TypeValidation && tools.TypeOf(err) != tools.TypeTooLarge {
				t.Fatalf("%q: error type %s: %v", s, tools.TypeOf(err), err)
			}
			return
		}
		norm := res.(map[string]any)["normalized"].(string)
		res2, err := tools.Call(ctx, tool, map[string]any{"input": norm})
		if err != nil {
			t.Fatalf("%q normalized to %q, which fails: %v", s, norm, err)
		}
		if again := res2.(map[string]any)["normalized"]; again != norm {
			t.Fatalf("%q normalized to %q, then to %q", s, norm, again)
		}
	})
}
