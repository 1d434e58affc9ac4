package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// wsResult is one result as a SearXNG endpoint sends it.
type wsResult struct {
	Title         string `json:"title"`
	URL           string `json:"url"`
	Content       string `json:"content"`
	ImgSrc        string `json:"img_src,omitempty"`
	ThumbnailSrc  string `json:"thumbnail_src,omitempty"`
	PublishedDate any    `json:"publishedDate"`
	Engine        string `json:"engine,omitempty"`
}

// wsPages serves SearXNG JSON: pages[i] is the result list of pageno i+1;
// pages past the end are empty.
func wsPages(pages ...[]wsResult) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		n := 1
		if s := r.URL.Query().Get("pageno"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		results := []wsResult{}
		if n >= 1 && n <= len(pages) {
			results = pages[n-1]
		}
		w.Header().Set("Content-Type", "application/json")
		json.MarshalWrite(w, map[string]any{
			"query": r.URL.Query().Get("q"), "number_of_results": 0, "results": results,
			"answers": []any{}, "unresponsive_engines": []any{},
		})
	}
}

// wsNumbered returns n results numbered from first.
func wsNumbered(first, n int) []wsResult {
	out := make([]wsResult, n)
	for i := range out {
		k := first + i
		out[i] = wsResult{Title: fmt.Sprintf("T%d", k), URL: fmt.Sprintf("https://r.example/%d", k), Content: fmt.Sprintf("S%d", k)}
	}
	return out
}

// wsTool returns web_search configured with the endpoint.
func wsTool(t testing.TB, endpoint string) tools.Tool {
	t.Helper()
	cfg := hxtConfig(t)
	cfg.SearchEndpoint = endpoint
	return web.Search(cfg)
}

func TestWebSearchSuccess(t *testing.T) {
	srv := hxtServe(t, wsPages([]wsResult{
		{Title: "Go", URL: "https://go.dev/", Content: "The Go language", PublishedDate: nil, Engine: "duckduckgo"},
		{Title: "Go again", URL: "https://go.dev/", Content: "duplicate"},
		{Title: "no url", URL: ""},
		{Title: "Tour", URL: "https://go.dev/tour", Content: "A tour", PublishedDate: "2024-05-01T00:00:00"},
		{Title: "Blog", URL: "https://go.dev/blog", Content: "News"},
	}))
	tool := wsTool(t, srv.URL+"/search?token=abc")

	res := call(t, tool, map[string]any{"input": "  golang tutorial  ", "max_results": 2, "language": "en-US"})
	want := map[string]any{
		"query": "golang tutorial", "provider": "searxng", "count": 2,
		"results": []any{
			map[string]any{"title": "Go", "url": "https://go.dev/", "snippet": "The Go language", "engine": "duckduckgo"},
			map[string]any{"title": "Tour", "url": "https://go.dev/tour", "snippet": "A tour", "published_date": "2024-05-01T00:00:00"},
		},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result\n got %#v\nwant %#v", res, want)
	}
	got := srv.last(t)
	wantQuery := url.Values{"q": {"golang tutorial"}, "format": {"json"}, "categories": {"general"},
		"safesearch": {"1"}, "language": {"en-US"}, "token": {"abc"}}
	if got.Method != "GET" || got.Path != "/search" || !reflect.DeepEqual(got.Query, wantQuery) {
		t.Errorf("server got %s %s %v", got.Method, got.Path, got.Query)
	}
	if got.Header.Get("Accept") != "application/json" || got.Header.Get("User-Agent") != "spellhost/1" {
		t.Errorf("headers %v", got.Header)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (the first page had enough)", n)
	}

	t.Run("options", func(t *testing.T) {
		call(t, tool, map[string]any{"input": "cats", "search_type": "news", "safe_search": false})
		q := srv.last(t).Query
		if q.Get("categories") != "news" || q.Get("safesearch") != "0" || q.Has("language") {
			t.Errorf("query %v", q)
		}
	})
	t.Run("fewer results than asked", func(t *testing.T) {
		res := call(t, tool, map[string]any{"input": "go"})
		if res["count"] != 3 || len(res["results"].([]any)) != 3 {
			t.Errorf("result %v", res)
		}
	})
}

func TestWebSearchImages(t *testing.T) {
	srv := hxtServe(t, wsPages([]wsResult{
		{Title: "Cat", URL: "https://img.example/cat", Content: "", ImgSrc: "https://img.example/cat.jpg", ThumbnailSrc: "https://img.example/cat-t.jpg"},
	}))
	res := call(t, wsTool(t, srv.URL), map[string]any{"input": "cat", "search_type": "images"})
	want := []any{map[string]any{"title": "Cat", "url": "https://img.example/cat", "snippet": "",
		"image_url": "https://img.example/cat.jpg", "thumbnail_url": "https://img.example/cat-t.jpg"}}
	if !reflect.DeepEqual(res["results"], want) {
		t.Errorf("results %#v", res["results"])
	}
	if q := srv.last(t).Query; q.Get("categories") != "images" {
		t.Errorf("query %v", q)
	}
}

func TestWebSearchPaging(t *testing.T) {
	// Page 2 repeats a result of page 1; page 4 is empty, so paging stops there.
	srv := hxtServe(t, wsPages(wsNumbered(1, 3), append(wsNumbered(3, 1), wsNumbered(4, 2)...), wsNumbered(6, 3)))
	tool := wsTool(t, srv.URL)
	res := call(t, tool, map[string]any{"input": "q", "max_results": 7})
	if res["count"] != 7 {
		t.Fatalf("count %v", res["count"])
	}
	for i, r := range res["results"].([]any) {
		if u := r.(map[string]any)["url"]; u != fmt.Sprintf("https://r.example/%d", i+1) {
			t.Errorf("result %d: url %v", i, u)
		}
	}
	var pages []string
	for _, s := range srv.all() {
		pages = append(pages, s.Query["pageno"]...)
	}
	if !reflect.DeepEqual(pages, []string{"2", "3"}) || srv.hits.Load() != 3 {
		t.Errorf("pages requested %v in %d requests", pages, srv.hits.Load())
	}

	before := srv.hits.Load()
	res = call(t, tool, map[string]any{"input": "q", "max_results": 50})
	if res["count"] != 8 || srv.hits.Load()-before != 4 {
		t.Errorf("count %v after %d requests, want 8 after 4 (the empty page ends paging)", res["count"], srv.hits.Load()-before)
	}
}

func TestWebSearchNoEndpoint(t *testing.T) {
	for _, endpoint := range []string{"", "   "} {
		tool := wsTool(t, endpoint)
		msg := callErr(t, tool, map[string]any{"input": "go"}, tools.TypeExecution)
		for _, want := range []string{"no search endpoint configured", "--search-endpoint", "SPELLHOST_SEARCH_ENDPOINT"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not contain %q", msg, want)
			}
		}
		// Bad parameters are still reported as such.
		callErr(t, tool, map[string]any{"input": "go", "max_results": 0}, tools.TypeValidation)
		callErr(t, tool, map[string]any{}, tools.TypeValidation)
	}
	for _, endpoint := range []string{"ftp://127.0.0.1/search", "127.0.0.1:8888/search", "http://[::1/"} {
		msg := callErr(t, wsTool(t, endpoint), map[string]any{"input": "go"}, tools.TypeExecution)
		if !strings.Contains(msg, "--search-endpoint") || !strings.Contains(msg, "not usable") {
			t.Errorf("%s: message %q", endpoint, msg)
		}
	}
	// The password of an endpoint never appears in a message.
	srv := hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(500) })
	msg := callErr(t, wsTool(t, strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)), map[string]any{"input": "go"}, tools.TypeExecution)
	if strings.Contains(msg, "s3cret") {
		t.Errorf("message %q shows the password", msg)
	}
}

func TestWebSearchReplyErrors(t *testing.T) {
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request, int)
		typ    tools.ErrorType
		want   string
	}{
		{"403 json disabled", func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(403) }, tools.TypeExecution, "json format enabled"},
		{"500", func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(500)
			w.Write([]byte("engine  down"))
		}, tools.TypeExecution, "status 500: engine down"},
		{"html", func(w http.ResponseWriter, r *http.Request, _ int) { w.Write([]byte("<html></html>")) }, tools.TypeExecution, "not SearXNG JSON"},
		{"no results list", func(w http.ResponseWriter, r *http.Request, _ int) { w.Write([]byte(`{"query":"go"}`)) }, tools.TypeExecution, "no results list"},
		{"results not a list", func(w http.ResponseWriter, r *http.Request, _ int) { w.Write([]byte(`{"results":{}}`)) }, tools.TypeExecution, "not SearXNG JSON"},
		{"redirect to a refused host", hxtRedirectTo(hxtDenied+"search", http.StatusFound), tools.TypePermission, "--allow-net=10.255.255.1:81"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hxtServe(t, tc.handle)
			msg := callErr(t, wsTool(t, srv.URL), map[string]any{"input": "go"}, tc.typ)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestWebSearchNetwork(t *testing.T) {
	t.Run("refused endpoint", func(t *testing.T) {
		msg := callErr(t, wsTool(t, hxtDenied+"search"), map[string]any{"input": "go"}, tools.TypePermission)
		if !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		if msg := callErr(t, wsTool(t, hxtDeadURL(t)), map[string]any{"input": "go"}, tools.TypeExecution); !strings.Contains(msg, "refused") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		var srv *hxtServer
		srv = hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { srv.block(r) })
		callErr(t, wsTool(t, srv.URL), map[string]any{"input": "go", "timeout_ms": 50}, tools.TypeTimeout)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, typ, msg := hxtCallCtx(ctx, wsTool(t, srv.URL), map[string]any{"input": "go"}); typ != tools.TypeCancelled {
			t.Errorf("cancelled call: %s %s", typ, msg)
		}
	})
	t.Run("reply over the response limit", func(t *testing.T) {
		srv := hxtServe(t, wsPages(wsNumbered(1, 20)))
		cfg := web.Config{Perm: hxtPerm(t, perm.Limits{MaxResponseBytes: 256}), SearchEndpoint: srv.URL}
		if msg := callErr(t, web.Search(cfg), map[string]any{"input": "go"}, tools.TypeTooLarge); !strings.Contains(msg, "256-byte response limit") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("long fields are cut", func(t *testing.T) {
		long := strings.Repeat("é", 5000) // 10000 bytes
		srv := hxtServe(t, wsPages([]wsResult{{Title: long, URL: "https://x.example/", Content: "c"}}))
		res := call(t, wsTool(t, srv.URL), map[string]any{"input": "go"})
		title := res["results"].([]any)[0].(map[string]any)["title"].(string)
		if len(title) != 8192 || title != long[:8192] {
			t.Errorf("title of %d bytes", len(title))
		}
	})
}

func TestWebSearchBadInput(t *testing.T) {
	srv := hxtServe(t, wsPages(wsNumbered(1, 1)))
	tool := wsTool(t, srv.URL)
	hxtRunBad(t, tool, []hxtBadCase{
		{"missing input", map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{"input wrong type", map[string]any{"input": true}, tools.TypeValidation, `"input": expected string`},
		{"empty query", map[string]any{"input": " \t "}, tools.TypeValidation, "empty query"},
		{"query too long", map[string]any{"input": strings.Repeat("q", 2049)}, tools.TypeTooLarge, "2048-byte limit"},
		{"max_results zero", map[string]any{"input": "go", "max_results": 0}, tools.TypeValidation, `"max_results": 0 is out of range 1-50`},
		{"max_results 51", map[string]any{"input": "go", "max_results": 51}, tools.TypeValidation, "1-50"},
		{"max_results fractional", map[string]any{"input": "go", "max_results": 2.5}, tools.TypeValidation, "expected integer"},
		{"unknown provider", map[string]any{"input": "go", "provider": "google"}, tools.TypeValidation, `unknown value "google"`},
		{"unknown search_type", map[string]any{"input": "go", "search_type": "videos"}, tools.TypeValidation, `unknown value "videos"`},
		{"language with space", map[string]any{"input": "go", "language": "en US"}, tools.TypeValidation, "not a language code"},
		{"language injection", map[string]any{"input": "go", "language": "en&format=html"}, tools.TypeValidation, "not a language code"},
		{"language empty", map[string]any{"input": "go", "language": ""}, tools.TypeValidation, "not a language code"},
		{"safe_search wrong type", map[string]any{"input": "go", "safe_search": "on"}, tools.TypeValidation, "expected boolean"},
		{"timeout zero", map[string]any{"input": "go", "timeout_ms": 0}, tools.TypeValidation, "out of range"},
		{"unknown parameter", map[string]any{"input": "go", "engine": "x"}, tools.TypeValidation, `unknown parameter "engine"`},
	})
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("bad input reached the server %d times", n)
	}
	// A query with URL syntax in it is sent as data, not as parameters.
	call(t, tool, map[string]any{"input": "a&format=html#x?y=1"})
	if q := srv.last(t).Query; q.Get("q") != "a&format=html#x?y=1" || len(q["format"]) != 1 || q.Get("format") != "json" {
		t.Errorf("query %v", q)
	}
}

func BenchmarkWebSearch(b *testing.B) {
	srv := hxtServe(b, wsPages(wsNumbered(1, 10)))
	tool := wsTool(b, srv.URL+"/search")
	params := map[string]any{"input": "golang tutorial", "max_results": 10}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
