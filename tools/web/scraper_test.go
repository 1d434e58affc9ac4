package web_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

const wsPage = `<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>  Shop &amp;
  Blog </title>
<meta name="Description" content="Things we sell">
<meta property="og:title" content="OG">
<meta name="description" content="second, ignored">
<meta http-equiv="refresh" content="30">
<style>.x { color: red }</style>
<script>var hidden = "script text";</script>
</head>
<body>
<div id="main" class="content wide">
  <h1>Welcome</h1>
  <p class="intro lead">Hello <b>big</b> world.</p>
  <ul id="list">
    <li class="item">one</li>
    <li class="item special">two</li>
    <li class="item">three</li>
    <li class="item" data-n="4">four</li>
  </ul>
  <a href="/about">About us</a>
  <a href="page2.html?x=1#frag">Next</a>
  <a href="https://other.example/x">Elsewhere</a>
  <a name="anchor-only">no href</a>
  <img src="/img/logo.png" alt="Logo">
  <img src="pics/a.jpg">
  <p></p>
  <noscript>enable js</noscript>
</div>
<div class="content"><span lang="en-US">Footer</span><span>end</span></div>
<table><tr><td>a</td><td>b</td></tr></table>
</body></html>`

func scrapeTool(t testing.TB) (tools.Tool, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/shop/index.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, wsPage)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/shop/index.html", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/base", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><base href="https://cdn.example/root/"></head><body><a href="x/y">X</a><img src="/z.png" alt="Z"></body></html>`)
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=ISO-8859-1")
		w.Write([]byte("<html><head><title>Caf\xe9 \x80</title></head><body><p>na\xefve</p></body></html>"))
	})
	mux.HandleFunc("/cp1252", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1252")
		w.Write([]byte("<html><head><title>Price \x80 5</title></head><body></body></html>"))
	})
	mux.HandleFunc("/metacharset", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><title>Gr\xfc\xdfe</title></head></html>"))
	})
	mux.HandleFunc("/sniffed", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no Content-Type at all
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Sniffed</title></head><body>ok</body></html>")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"a":1}`)
	})
	mux.HandleFunc("/many", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>")
		for i := range 10_050 {
			fmt.Fprintf(w, `<a href="/p%d">%d</a>`, i, i)
		}
		fmt.Fprint(w, "</body></html>")
	})
	srv := webServer(t, mux)
	p := webPerm(t, perm.Limits{})
	return web.Scraper(web.Config{Perm: p, HTTPTimeout: 5 * time.Second}), srv.URL
}

func TestWebScraperSpec(t *testing.T) {
	tool, _ := scrapeTool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "web-scraper" || spec.Category != "data" || spec.Returns == "" || spec.Inline {
		t.Fatalf("unexpected spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
}

func TestWebScraperPage(t *testing.T) {
	tool, base := scrapeTool(t)
	res := call(t, tool, map[string]any{"input": base + "/redirect", "selector": "ul#list > li.item:first-child, p.intro"})
	if res["url"] != base+"/redirect" || res["final_url"] != base+"/shop/index.html" || res["status_code"] != 200 ||
		res["content_type"] != "text/html" {
		t.Errorf("url %v final_url %v status %v content_type %v", res["url"], res["final_url"], res["status_code"], res["content_type"])
	}
	if res["title"] != "Shop & Blog" {
		t.Errorf("title = %q", res["title"])
	}
	wantText := "Welcome Hello big world. one two three four About us Next Elsewhere no href Footerend a b"
	if res["text"] != wantText {
		t.Errorf("text\n got  %q\n want %q", res["text"], wantText)
	}
	wantLinks := []any{
		map[string]any{"url": base + "/about", "text": "About us"},
		map[string]any{"url": base + "/shop/page2.html?x=1#frag", "text": "Next"},
		map[string]any{"url": "https://other.example/x", "text": "Elsewhere"},
	}
	if !reflect.DeepEqual(res["links"], wantLinks) {
		t.Errorf("links\n got  %v\n want %v", res["links"], wantLinks)
	}
	wantImages := []any{
		map[string]any{"src": base + "/img/logo.png", "alt": "Logo"},
		map[string]any{"src": base + "/shop/pics/a.jpg", "alt": ""},
	}
	if !reflect.DeepEqual(res["images"], wantImages) {
		t.Errorf("images\n got  %v\n want %v", res["images"], wantImages)
	}
	wantMeta := map[string]any{"description": "Things we sell", "og:title": "OG", "refresh": "30"}
	if !reflect.DeepEqual(res["meta"], wantMeta) {
		t.Errorf("meta = %v", res["meta"])
	}
	wantMatches := []any{
		map[string]any{"text": "Hello big world.", "attrs": map[string]any{"class": "intro lead"}},
		map[string]any{"text": "one", "attrs": map[string]any{"class": "item"}},
	}
	if !reflect.DeepEqual(res["matches"], wantMatches) {
		t.Errorf("matches\n got  %v\n want %v", res["matches"], wantMatches)
	}
	if res["truncated"] != false {
		t.Error("truncated is true")
	}
	if _, ok := res["selections"]; ok {
		t.Error("selections present without selectors")
	}
}

func TestWebScraperOptions(t *testing.T) {
	tool, base := scrapeTool(t)
	res := call(t, tool, map[string]any{
		"input":          base + "/shop/index.html",
		"selectors":      map[string]any{"items": "li", "heading": "h1", "none": "article"},
		"selector":       "span[lang|=en]",
		"include_html":   true,
		"extract_links":  false,
		"extract_images": false,
		"extract_meta":   false,
	})
	for _, k := range []string{"links", "images", "meta"} {
		if _, ok := res[k]; ok {
			t.Errorf("%s present though not asked for", k)
		}
	}
	wantSel := map[string]any{"items": []any{"one", "two", "three", "four"}, "heading": []any{"Welcome"}, "none": []any{}}
	if !reflect.DeepEqual(res["selections"], wantSel) {
		t.Errorf("selections = %v", res["selections"])
	}
	wantMatches := []any{map[string]any{"text": "Footer", "attrs": map[string]any{"lang": "en-US"}, "html": `<span lang="en-US">Footer</span>`}}
	if !reflect.DeepEqual(res["matches"], wantMatches) {
		t.Errorf("matches = %v", res["matches"])
	}

	res = call(t, tool, map[string]any{"input": base + "/base"})
	if want := []any{map[string]any{"url": "https://cdn.example/root/x/y", "text": "X"}}; !reflect.DeepEqual(res["links"], want) {
		t.Errorf("links against <base> = %v", res["links"])
	}
	if want := []any{map[string]any{"src": "https://cdn.example/z.png", "alt": "Z"}}; !reflect.DeepEqual(res["images"], want) {
		t.Errorf("images against <base> = %v", res["images"])
	}

	for path, title := range map[string]string{"/latin1": "Café €", "/cp1252": "Price € 5", "/metacharset": "Grüße", "/sniffed": "Sniffed"} {
		res = call(t, tool, map[string]any{"input": base + path})
		if res["title"] != title {
			t.Errorf("%s: title = %q, want %q", path, res["title"], title)
		}
	}

	res = call(t, tool, map[string]any{"input": base + "/many", "extract_images": false})
	if links := res["links"].([]any); len(links) != 10_000 || res["truncated"] != true {
		t.Errorf("many links: %d links, truncated %v", len(links), res["truncated"])
	}
}

// TestWebScraperSelectors checks the selector engine against one page.
func TestWebScraperSelectors(t *testing.T) {
	tool, base := scrapeTool(t)
	cases := []struct {
		sel  string
		want []string
	}{
		{"h1", []string{"Welcome"}},
		{"H1", []string{"Welcome"}},
		{".item", []string{"one", "two", "three", "four"}},
		{".item.special", []string{"two"}},
		{"#list", []string{"one two three four"}},
		{"li#list", nil},
		{"[data-n]", []string{"four"}},
		{"[data-n=4]", []string{"four"}},
		{`[data-n="5"]`, nil},
		{`li[class~="special"]`, []string{"two"}},
		{`[class^=intro]`, []string{"Hello big world."}},
		{`[class$=wide]`, []string{"Welcome Hello big world. one two three four About us Next Elsewhere no href"}},
		{`a[href*="example"]`, []string{"Elsewhere"}},
		{`span[lang|=en]`, []string{"Footer"}},
		{`span[LANG="EN-us" i]`, []string{"Footer"}},
		{`span[lang="EN-us"]`, nil},
		{"div li", []string{"one", "two", "three", "four"}},
		{"div > li", nil},
		{"div > ul > li.item", []string{"one", "two", "three", "four"}},
		{"body div.content > span", []string{"Footer", "end"}},
		{"h1, .special, h1", []string{"Welcome", "two"}},
		{"li:first-child", []string{"one"}},
		{"li:last-child", []string{"four"}},
		{"li:nth-child(2n+1)", []string{"one", "three"}},
		{"li:nth-child(odd)", []string{"one", "three"}},
		{"li:nth-child(even)", []string{"two", "four"}},
		{"li:nth-child(-n+2)", []string{"one", "two"}},
		{"li:nth-child(3)", []string{"three"}},
		{"li:nth-last-child(1)", []string{"four"}},
		{"span:only-child", nil},
		{"b:only-child", []string{"big"}},
		{"div > a:first-of-type", []string{"About us"}},
		{"div > img:last-of-type", []string{""}},
		{"#main > p:nth-of-type(2)", []string{""}},
		{"td:nth-last-of-type(2)", []string{"a"}},
		{"li:not(.special)", []string{"one", "three", "four"}},
		{"li:not([data-n]):not(:first-child)", []string{"two", "three"}},
		{"p:empty", []string{""}},
		{":root > body > table td", []string{"a", "b"}},
		{"div:nth-child(2) > span:first-child", []string{"Footer"}},
		{"*:first-child > span", nil},
		{"script", []string{`var hidden = "script text";`}},
		{"h1 + p", []string{"Hello big world."}},
		{"h1 ~ p", []string{"Hello big world.", ""}},
		{"li.special + li", []string{"three"}},
		{"li.special ~ li", []string{"three", "four"}},
		{"#main > ul ~ a + a", []string{"Next", "Elsewhere", "no href"}},
		{"p:not(:not(.intro))", []string{"Hello big world."}},
		{"li:not(.special + li, :first-child)", []string{"two", "four"}},
		{"ul:has(li.special)", []string{"one two three four"}},
		{"div:haschild(span[lang])", []string{"Footerend"}},
		{"span:contains(foot)", []string{"Footer"}},
		{"li:matches(^t)", []string{"two", "three"}},
		{"a[href#=(^/ab)]", []string{"About us"}},
		{`#\6d ain > h1`, []string{"Welcome"}},
		{"a:hover", nil},
		{"li:nth-child(2n+1 )", []string{"one", "three"}},
		{"li:nth-last-of-type(odd)", []string{"two", "four"}},
		{"div /* comment */ > ul > li:NTH-CHILD(2)", []string{"two"}},
	}
	for _, tc := range cases {
		t.Run(tc.sel, func(t *testing.T) {
			res := call(t, tool, map[string]any{"input": base + "/shop/index.html", "selectors": map[string]any{"s": tc.sel},
				"extract_links": false, "extract_images": false, "extract_meta": false})
			got := res["selections"].(map[string]any)["s"].([]any)
			want := make([]any, len(tc.want))
			for i, w := range tc.want {
				want[i] = w
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestWebScraperErrors(t *testing.T) {
	tool, base := scrapeTool(t)
	page := base + "/shop/index.html"
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		msg    string
	}{
		{"not html", map[string]any{"input": base + "/json"}, tools.TypeExecution, "application/json is not HTML"},
		{"selector type", map[string]any{"input": page, "selector": 5}, tools.TypeValidation, `"selector": expected string`},
		{"selectors type", map[string]any{"input": page, "selectors": "li"}, tools.TypeValidation, `"selectors": expected object`},
		{"selectors value", map[string]any{"input": page, "selectors": map[string]any{"a": 1}}, tools.TypeValidation, "expected a selector string"},
		{"empty selector", map[string]any{"input": page, "selector": "  "}, tools.TypeValidation, "empty selector"},
		{"pseudo-class", map[string]any{"input": page, "selector": "a:bogus"}, tools.TypeValidation, "unknown pseudoclass or pseudoelement :bogus"},
		{"pseudo-element", map[string]any{"input": page, "selector": "p::before"}, tools.TypeValidation, "pseudo-element before found, but pseudo-elements support is disabled"},
		{"descendant inside not", map[string]any{"input": page, "selector": "p:not(div a)"}, tools.TypeValidation, "the descendant combinator is not allowed inside :not()"},
		{"sibling inside has", map[string]any{"input": page, "selector": "div:has(h1 ~ p)"}, tools.TypeValidation, `the sibling "~" combinator is not allowed inside :has()`},
		{"descendant inside haschild", map[string]any{"input": page, "selector": "div:haschild(ul li)"}, tools.TypeValidation, "not allowed inside :haschild()"},
		{"has inside has", map[string]any{"input": page, "selector": "div:has(ul:not(:has(b)))"}, tools.TypeValidation, ":has() is not allowed inside :has()"},
		{"contains inside has", map[string]any{"input": page, "selector": "div:has(li:contains(x))"}, tools.TypeValidation, ":contains() is not allowed inside :has()"},
		{"escaped has inside has", map[string]any{"input": page, "selector": `div:has(:\68 as(b))`}, tools.TypeValidation, ":has() is not allowed inside :has()"},
		{"bad nth", map[string]any{"input": page, "selector": "li:nth-child(x)"}, tools.TypeValidation, "expression of form an+b"},
		{"nth without parens", map[string]any{"input": page, "selector": "li:nth-child"}, tools.TypeValidation, "expected '(' but didn't find it"},
		{"first-child with parens", map[string]any{"input": page, "selector": "li:first-child(2)"}, tools.TypeValidation, "3 bytes left over"},
		{"unclosed attr", map[string]any{"input": page, "selector": "a[href"}, tools.TypeValidation, "unexpected EOF in attribute selector"},
		{"unterminated string", map[string]any{"input": page, "selector": `a[href="x]`}, tools.TypeValidation, "EOF in string"},
		{"trailing comma", map[string]any{"input": page, "selector": "a,"}, tools.TypeValidation, "expected selector, found EOF instead"},
		{"leading child", map[string]any{"input": page, "selector": "> a"}, tools.TypeValidation, "expected identifier, found > instead"},
		{"namespace", map[string]any{"input": page, "selector": "svg|a"}, tools.TypeValidation, "2 bytes left over"},
		{"bad regexp", map[string]any{"input": page, "selector": "a:matches(()"}, tools.TypeValidation, "EOF in regular expression"},
		{"named selector error names it", map[string]any{"input": page, "selectors": map[string]any{"bad": "a:bogus"}}, tools.TypeValidation, `"selectors.bad"`},
		{"selector too long", map[string]any{"input": page, "selector": strings.Repeat("a", 5000)}, tools.TypeTooLarge, "4096-byte limit"},
		{"too many compounds", map[string]any{"input": page, "selector": strings.Repeat("a ", 65)}, tools.TypeTooLarge, "more than 64"},
		{"unknown parameter", map[string]any{"input": page, "css": "a"}, tools.TypeValidation, `unknown parameter "css"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
		})
	}
}

func BenchmarkWebScraper(b *testing.B) {
	tool, base := scrapeTool(b)
	params := map[string]any{"input": base + "/shop/index.html", "selector": "ul > li.item:nth-child(odd)",
		"selectors": map[string]any{"links": "a[href]", "heading": "#main h1"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzWebScraperSelector checks that no selector panics and that every
// failure is a validation or too_large error.
func FuzzWebScraperSelector(f *testing.F) {
	for _, s := range []string{"a", "div > p.x", "li:nth-child(2n+1)", "[a=\"b\" i]", "p:not(.a)", "a, b c > d", ":root", "*", "a[", "::x", "li:nth-child(-n+3):not([x])"} {
		f.Add(s)
	}
	tool, base := scrapeTool(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sel string) {
		_, err := tools.Call(ctx, tool, map[string]any{"input": base + "/shop/index.html", "selector": sel})
		if err != nil {
			if typ := tools.TypeOf(err); typ != tools.TypeValidation && typ != tools.TypeTooLarge {
				t.Fatalf("%q: error type %s: %v", sel, typ, err)
			}
		}
	})
}
