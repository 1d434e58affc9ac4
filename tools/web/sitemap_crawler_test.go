package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

func smGzip(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func smURLSet(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for _, l := range locs {
		fmt.Fprintf(&b, "<url><loc>%s</loc></url>", l)
	}
	b.WriteString("</urlset>")
	return b.String()
}

func smIndex(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for _, l := range locs {
		fmt.Fprintf(&b, "<sitemap><loc>%s</loc><lastmod>2024-01-01</lastmod></sitemap>", l)
	}
	b.WriteString("</sitemapindex>")
	return b.String()
}

func smTool(t testing.TB) (tools.Tool, string) {
	t.Helper()
	mux := http.NewServeMux()
	var base string
	var gzB, gzE, gzBomb []byte // compressed bodies, made once base is known
	xml := func(path, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, strings.ReplaceAll(body, "BASE", base))
		})
	}
	xml("/sitemap.xml", `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> BASE/ </loc><lastmod>2024-05-01</lastmod><changefreq>daily</changefreq><priority>1.0</priority>
    <image:image><image:loc>BASE/img.png</image:loc></image:image></url>
  <url><loc>BASE/about</loc><priority>high</priority></url>
  <url><loc>BASE/</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
  <url><loc>BASE/a?x=1&amp;y=2</loc></url>
</urlset>`)
	xml("/index.xml", smIndex("BASE/a.xml", "/b.xml.gz", "BASE/index.xml", "BASE/a.xml#frag", "ftp://files.example/s.xml",
		"BASE/nested.xml", "BASE/enc.xml"))
	xml("/a.xml", smURLSet("BASE/a1", "BASE/a2", "BASE/shared"))
	mux.HandleFunc("/b.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(gzB)
	})
	mux.HandleFunc("/enc.xml", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "want gzip", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzE)
	})
	xml("/nested.xml", smIndex("BASE/c.xml"))
	xml("/c.xml", smURLSet("BASE/c1"))
	xml("/redirect-index.xml", smIndex("BASE/sitemap.xml", "BASE/to-sitemap"))
	mux.HandleFunc("/to-sitemap", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/sitemap.xml", http.StatusFound)
	})
	mux.HandleFunc("/text.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "\xef\xbb\xbf%s/t1\n\n  %s/t2  \r\n%s/t1\n", base, base, base)
	})
	mux.HandleFunc("/bad-text.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s/ok\nnot a url\n", base)
	})
	mux.HandleFunc("/latin1.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>%s/caf\xe9</loc></url></urlset>", base)
	})
	xml("/malformed.xml", `<urlset><url><loc>x</loc></urlset>`)
	xml("/truncated.xml", `<urlset><url><loc>x</loc></url>`)
	xml("/html.xml", `<html><body>not a sitemap</body></html>`)
	xml("/empty.xml", "  \n")
	xml("/refused-index.xml", smIndex("BASE/a.xml", "http://10.255.255.1/private.xml"))
	xml("/missing-index.xml", smIndex("BASE/a.xml", "BASE/missing.xml"))
	xml("/bad-child-index.xml", smIndex("BASE/malformed.xml"))
	mux.HandleFunc("/bomb.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Write(gzBomb)
	})
	xml("/deep0.xml", smIndex("BASE/deep1.xml"))
	xml("/deep1.xml", smIndex("BASE/deep2.xml"))
	xml("/deep2.xml", smIndex("BASE/deep3.xml"))
	xml("/deep3.xml", smURLSet("BASE/bottom"))
	big := make([]string, 120)
	for i := range big {
		big[i] = fmt.Sprintf("BASE/p%d", i)
	}
	xml("/big.xml", smURLSet(big...))
	xml("/big-index.xml", smIndex("BASE/big.xml", "BASE/a.xml", "BASE/c.xml"))
	// The handlers read base and the compressed bodies: set them before
	// the server starts serving.
	srv := httptest.NewUnstartedServer(mux)
	base = "http://" + srv.Listener.Addr().String()
	gzB = smGzip(t, smURLSet(base+"/b1", base+"/shared"))
	gzE = smGzip(t, smURLSet(base+"/e1"))
	gzBomb = smGzip(t, smURLSet(base+"/x")+strings.Repeat(" ", 200_000))
	srv.Start()
	t.Cleanup(srv.Close)
	p := webPerm(t, perm.Limits{MaxResponseBytes: 64 << 10})
	return web.SitemapCrawler(web.Config{Perm: p, HTTPTimeout: 5 * time.Second}), base
}

func smLocs(res map[string]any) []string {
	var out []string
	for _, u := range res["urls"].([]any) {
		out = append(out, u.(map[string]any)["loc"].(string))
	}
	return out
}

func TestSitemapCrawlerSpec(t *testing.T) {
	tool, _ := smTool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "sitemap-crawler" || spec.Returns == "" || spec.Inline {
		t.Fatalf("unexpected spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
}

func TestSitemapCrawlerURLSet(t *testing.T) {
	tool, base := smTool(t)
	res := call(t, tool, map[string]any{"input": base + "/sitemap.xml"})
	want := []any{
		map[string]any{"loc": base + "/", "lastmod": "2024-05-01", "changefreq": "daily", "priority": 1.0},
		map[string]any{"loc": base + "/about", "lastmod": "", "changefreq": "", "priority": nil},
		map[string]any{"loc": base + "/a?x=1&y=2", "lastmod": "", "changefreq": "", "priority": nil},
	}
	if !reflect.DeepEqual(res["urls"], want) {
		t.Errorf("urls\n got  %v\n want %v", res["urls"], want)
	}
	if res["count"] != 3 || res["truncated"] != false || !reflect.DeepEqual(res["sitemaps"], []any{base + "/sitemap.xml"}) ||
		!reflect.DeepEqual(res["skipped"], []any{}) || res["skipped_count"] != 0 {
		t.Errorf("result %v", res)
	}
}

func TestSitemapCrawlerIndex(t *testing.T) {
	tool, base := smTool(t)
	res := call(t, tool, map[string]any{"input": base + "/index.xml"})
	wantLocs := []string{base + "/a1", base + "/a2", base + "/shared", base + "/b1", base + "/e1", base + "/c1"}
	if got := smLocs(res); !reflect.DeepEqual(got, wantLocs) {
		t.Errorf("locs\n got  %v\n want %v", got, wantLocs)
	}
	wantSitemaps := []any{base + "/index.xml", base + "/a.xml", base + "/b.xml.gz", base + "/nested.xml", base + "/enc.xml", base + "/c.xml"}
	if !reflect.DeepEqual(res["sitemaps"], wantSitemaps) {
		t.Errorf("sitemaps\n got  %v\n want %v", res["sitemaps"], wantSitemaps)
	}
	skipped := res["skipped"].([]any)
	if len(skipped) != 3 || res["skipped_count"] != 3 {
		t.Fatalf("skipped %v", skipped)
	}
	for i, want := range []struct{ url, reason string }{
		{base + "/index.xml", "already fetched"},
		{base + "/a.xml#frag", "already fetched"},
		{"ftp://files.example/s.xml", "scheme \"ftp\""},
	} {
		s := skipped[i].(map[string]any)
		if s["url"] != want.url || !strings.Contains(s["reason"].(string), want.reason) {
			t.Errorf("skipped[%d] = %v, want %s (%s)", i, s, want.url, want.reason)
		}
	}
	if res["truncated"] != false || res["count"] != 6 {
		t.Errorf("truncated %v count %v", res["truncated"], res["count"])
	}

	res = call(t, tool, map[string]any{"input": base + "/index.xml", "follow_sitemaps": false})
	if len(res["urls"].([]any)) != 0 || res["skipped_count"] != 7 || !reflect.DeepEqual(res["sitemaps"], []any{base + "/index.xml"}) {
		t.Errorf("no follow: %v", res)
	}

	res = call(t, tool, map[string]any{"input": base + "/redirect-index.xml"})
	if got := smLocs(res); len(got) != 3 || res["skipped_count"] != 1 ||
		!strings.Contains(res["skipped"].([]any)[0].(map[string]any)["reason"].(string), "redirected to an already fetched sitemap") {
		t.Errorf("redirect to a fetched sitemap: %v", res)
	}
}

func TestSitemapCrawlerLimits(t *testing.T) {
	tool, base := smTool(t)
	res := call(t, tool, map[string]any{"input": base + "/big-index.xml", "max_urls": 100})
	if res["count"] != 100 || res["truncated"] != true {
		t.Errorf("max_urls: count %v truncated %v", res["count"], res["truncated"])
	}
	if s := res["skipped"].([]any); len(s) != 2 || !strings.Contains(s[0].(map[string]any)["reason"].(string), "max_urls") {
		t.Errorf("max_urls skipped %v", s)
	}

	res = call(t, tool, map[string]any{"input": base + "/big-index.xml", "max_sitemaps": 2})
	if res["count"] != 120 || res["truncated"] != true || len(res["sitemaps"].([]any)) != 2 {
		t.Errorf("max_sitemaps: count %v truncated %v sitemaps %v", res["count"], res["truncated"], res["sitemaps"])
	}

	for depth, want := range map[int][]string{0: nil, 2: nil, 3: {base + "/bottom"}} {
		res = call(t, tool, map[string]any{"input": base + "/deep0.xml", "max_depth": depth})
		if got := smLocs(res); !reflect.DeepEqual(got, want) {
			t.Errorf("max_depth %d: locs %v, want %v", depth, got, want)
		}
		if len(want) == 0 && !strings.Contains(fmt.Sprint(res["skipped"]), "deeper than max_depth") {
			t.Errorf("max_depth %d: skipped %v", depth, res["skipped"])
		}
	}
}

func TestSitemapCrawlerFormats(t *testing.T) {
	tool, base := smTool(t)
	res := call(t, tool, map[string]any{"input": base + "/text.txt"})
	if got := smLocs(res); !reflect.DeepEqual(got, []string{base + "/t1", base + "/t2"}) {
		t.Errorf("text sitemap: %v", got)
	}
	res = call(t, tool, map[string]any{"input": base + "/latin1.xml"})
	if got := smLocs(res); !reflect.DeepEqual(got, []string{base + "/café"}) {
		t.Errorf("latin1 sitemap: %v", got)
	}
	res = call(t, tool, map[string]any{"input": base + "/b.xml.gz"})
	if got := smLocs(res); !reflect.DeepEqual(got, []string{base + "/b1", base + "/shared"}) {
		t.Errorf("gzip sitemap: %v", got)
	}
}

func TestSitemapCrawlerErrors(t *testing.T) {
	tool, base := smTool(t)
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		msg    []string
	}{
		{"refused child", map[string]any{"input": base + "/refused-index.xml"}, tools.TypePermission,
			[]string{"http://10.255.255.1/private.xml", "listed in " + base + "/refused-index.xml", "--allow-net=10.255.255.1:80"}},
		{"missing child", map[string]any{"input": base + "/missing-index.xml"}, tools.TypeExecution,
			[]string{base + "/missing.xml", "404 Not Found"}},
		{"malformed child", map[string]any{"input": base + "/bad-child-index.xml"}, tools.TypeExecution,
			[]string{base + "/malformed.xml", "malformed XML"}},
		{"malformed", map[string]any{"input": base + "/malformed.xml"}, tools.TypeExecution, []string{"malformed XML"}},
		{"truncated", map[string]any{"input": base + "/truncated.xml"}, tools.TypeExecution, []string{"unexpected"}},
		{"not a sitemap", map[string]any{"input": base + "/html.xml"}, tools.TypeExecution, []string{"root element <html>"}},
		{"empty", map[string]any{"input": base + "/empty.xml"}, tools.TypeExecution, []string{"empty document"}},
		{"bad text line", map[string]any{"input": base + "/bad-text.txt"}, tools.TypeExecution, []string{"line 2", "not an absolute http or https URL"}},
		{"gzip bomb", map[string]any{"input": base + "/bomb.xml.gz"}, tools.TypeTooLarge, []string{"decompressed size exceeds the 65536-byte limit"}},
		{"max_urls range", map[string]any{"input": base + "/sitemap.xml", "max_urls": 0}, tools.TypeValidation, []string{`"max_urls"`}},
		{"max_urls high", map[string]any{"input": base + "/sitemap.xml", "max_urls": 50_001}, tools.TypeValidation, []string{`"max_urls"`}},
		{"max_sitemaps range", map[string]any{"input": base + "/sitemap.xml", "max_sitemaps": 1001}, tools.TypeValidation, []string{`"max_sitemaps"`}},
		{"max_depth range", map[string]any{"input": base + "/sitemap.xml", "max_depth": -1}, tools.TypeValidation, []string{`"max_depth"`}},
		{"max_depth type", map[string]any{"input": base + "/sitemap.xml", "max_depth": 1.5}, tools.TypeValidation, []string{"expected integer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			for _, m := range tc.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not contain %q", msg, m)
				}
			}
		})
	}
}

func BenchmarkSitemapCrawler(b *testing.B) {
	tool, base := smTool(b)
	params := map[string]any{"input": base + "/index.xml"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
