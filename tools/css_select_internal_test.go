package tools

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
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
