package web

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"spellhost/tools"
)

// cssBenchPage builds an HTML page of about size bytes: a navigation list,
// posts with headings and links, and a long price table.
func cssBenchPage(size int) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>bench</title></head><body><ul id=nav>")
	for i := range 50 {
		fmt.Fprintf(&b, `<li class="%s"><a href="/p/%d">item %d</a></li>`, []string{"item", "item ad"}[i%5/4], i, i)
	}
	b.WriteString("</ul><main>")
	for i := 0; b.Len() < size/2; i++ {
		fmt.Fprintf(&b, `<div class="post" data-id="%d"><h2><a href="/post/%d">Post %d</a></h2>`+
			`<p>Some text <span class="tag">t%d</span> and more text.</p></div>`, i, i, i, i%7)
	}
	b.WriteString(`</main><table id="data"><tbody>`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<tr><td class="name">row %d</td><td class="price">%d.00</td></tr>`, i, i%100)
	}
	b.WriteString("</tbody></table></body></html>")
	return b.String()
}

// BenchmarkCSSSelect1MB matches selectors over a 1 MB page.
func BenchmarkCSSSelect1MB(b *testing.B) {
	doc, err := html.Parse(strings.NewReader(cssBenchPage(1 << 20)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, sel := range []string{
		"div.post h2 > a",
		"#data tr:nth-child(odd) td.price",
		"ul#nav li:not(.ad) a",
		"[data-id]",
		"p span.tag, h2",
	} {
		b.Run(sel, func(b *testing.B) {
			s, err := cssCompile("selector", sel)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if err := s.each(ctx, doc, func(*html.Node) bool { n++; return true }); err != nil || n == 0 {
					b.Fatalf("%d matches, %v", n, err)
				}
			}
		})
	}
}

// cssAll returns what sel matches below doc through the adapter.
func cssAll(t *testing.T, doc *html.Node, sel string) []*html.Node {
	t.Helper()
	s, err := cssCompile("selector", sel)
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	var out []*html.Node
	if err := s.each(context.Background(), doc, func(n *html.Node) bool { out = append(out, n); return true }); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return out
}

// TestCSSMatchesCascadia checks that the linear pass finds exactly what
// cascadia's own matching finds, in the same order.
func TestCSSMatchesCascadia(t *testing.T) {
	page := cssBenchPage(64<<10) + `<div id="x"><p>a</p><!-- c --><p class="b">b</p>text<span>c</span><p>d</p>` +
		`<section><div><p lang="en-GB">e</p></div><p></p></section></div>`
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{
		"div.post h2 > a", "#data tr:nth-child(odd) td.price", "ul#nav li:not(.ad) a", "[data-id]", "p span.tag, h2",
		"tr:nth-child(3n+2):nth-last-child(odd) > td:last-child", "li:nth-of-type(2n)", "li:nth-last-of-type(-n+3)",
		"p + p", "p ~ span", "p + span ~ p", "p.b ~ *", "#x > :first-child + *", "#x p:only-of-type", "section p:empty",
		"div > section div p", "body * p", "* > * > * > p", ":root", "div:has(p.b)", "#x:haschild(span)",
		"p:lang(en)", "p:contains(b)", "li:matches(item 1[0-9])", `a[href^="/post/1"]`, "tr:nth-child(2) td:nth-child(1)",
		"main div:nth-child(10n) h2 a, #nav li:nth-child(-n+3)", "td.price:not(:nth-child(1)):not(.name)", "div:not(p + div)",
		"[DATA-ID=\"7\"]", "li:first-of-type, li:last-of-type", "#x > p:nth-child(4)", "table tr + tr + tr td",
	} {
		t.Run(sel, func(t *testing.T) {
			want := cascadia.QueryAll(doc, cascadia.MustCompile(sel))
			if got := cssAll(t, doc, sel); !slices.Equal(got, want) {
				t.Errorf("%d matches, cascadia finds %d", len(got), len(want))
			}
		})
	}
}

// TestCSSDeepSelectorIsLinear matches a selector of 40 descendant compounds
// against 400 nested elements: cascadia alone would try every choice of
// ancestors (about 400^39 of them); the pass is one visit per element.
func TestCSSDeepSelectorIsLinear(t *testing.T) {
	page := strings.Repeat("<div>", 400) + "<span>x</span>" + strings.Repeat("</div>", 400)
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	sel := strings.Repeat("div ", 40) + "span"
	if got := cssAll(t, doc, sel); len(got) != 1 || got[0].Data != "span" {
		t.Fatalf("got %v", got)
	}
	if got := cssAll(t, doc, "em "+sel); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

// TestCSSCancelled checks that matching stops when the context ends.
func TestCSSCancelled(t *testing.T) {
	doc, err := html.Parse(strings.NewReader(cssBenchPage(64 << 10)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cssCompile("selector", "td")
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("test over")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	n := 0
	err = s.each(ctx, doc, func(*html.Node) bool { n++; return true })
	if !errors.Is(err, cause) || n >= 64 {
		t.Fatalf("err %v after %d matches", err, n)
	}
}

// TestCSSCacheBounded checks that the cache of compiled selectors stops
// growing at its size and still compiles what it does not hold.
func TestCSSCacheBounded(t *testing.T) {
	for i := range cssCacheSize + 10 {
		if _, err := cssCompile("selector", fmt.Sprintf("li.c%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cssCacheUsed.Load(); n > cssCacheSize {
		t.Fatalf("cache holds %d selectors, more than %d", n, cssCacheSize)
	}
	s, err := cssCompile("selector", fmt.Sprintf("li.c%d", cssCacheSize+5))
	if err != nil || s.src != fmt.Sprintf("li.c%d", cssCacheSize+5) {
		t.Fatalf("%v %v", s, err)
	}
}

// FuzzCSSMatchesCascadia checks, for any selector the adapter compiles,
// that it matches what cascadia's own matching finds on a small page.
func FuzzCSSMatchesCascadia(f *testing.F) {
	for _, s := range []string{"div p", "a + b ~ c > d", "li:nth-child(2n+1)", `[a="b" i]`, "p:not(.a, b > c)",
		"a, b c > d", ":root", "*", `#\31 23 x`, "li:matches(a(b)c)", "[x#=(a|b)] y", "p:has(b + i)", "a/**/b",
		`[data-n=4] p`, `:n\ot(a) b`} {
		f.Add(s)
	}
	doc, err := html.Parse(strings.NewReader(`<div id="x"><p>a</p><!-- c --><p class="b">b</p>text<span>c</span><p>d</p>` +
		`<section><div><p lang="en-GB" data-n="4">e</p></div><p></p></section><ul><li>a</li><li class="a">b</li></ul></div>`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sel string) {
		s, err := cssCompile("selector", sel)
		if err != nil {
			if typ := tools.TypeOf(err); typ != tools.TypeValidation && typ != tools.TypeTooLarge {
				t.Fatalf("%q: error type %s: %v", sel, typ, err)
			}
			return
		}
		var got []*html.Node
		if err := s.each(context.Background(), doc, func(n *html.Node) bool { got = append(got, n); return true }); err != nil {
			t.Fatal(err)
		}
		c, err := cascadia.Compile(s.norm)
		if err != nil {
			t.Fatalf("%q compiles for the adapter, not for cascadia: %v", sel, err)
		}
		// cascadia's :matches() and :contains() also match text nodes;
		// the adapter visits elements only.
		want := slices.DeleteFunc(cascadia.QueryAll(doc, c), func(n *html.Node) bool { return n.Type != html.ElementNode })
		if !slices.Equal(got, want) {
			t.Fatalf("%q: %d matches, cascadia finds %d", sel, len(got), len(want))
		}
	})
}
