package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// wmServer serves a page whose body the test can change.
type wmServer struct {
	mu    sync.Mutex
	body  string
	ctype string
}

func (s *wmServer) set(ctype, body string) {
	s.mu.Lock()
	s.ctype, s.body = ctype, body
	s.mu.Unlock()
}

func (s *wmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ctype, body := s.ctype, s.body
	s.mu.Unlock()
	w.Header().Set("Content-Type", ctype)
	fmt.Fprint(w, body)
}

func wmTool(t testing.TB) (tools.Tool, *wmServer, string) {
	t.Helper()
	page := &wmServer{ctype: "text/html", body: "<p>x</p>"}
	srv := webServer(t, page)
	p := webPerm(t, perm.Limits{})
	return web.PageMonitor(web.Config{Perm: p, HTTPTimeout: 5 * time.Second}), page, srv.URL + "/page"
}

const wmV1 = `<html><head><title>News</title><script>var t = 1;</script></head><body>
<h1>Headlines</h1>
<ul id="news"><li>Alpha   rises</li><li>Beta falls</li><li>Gamma steady</li></ul>
<div class="ad">Buy now! <span>ad 1</span></div>
<pre>  keep
   spaces</pre>
</body></html>`

const wmV2 = `<html><head><title>News</title><script>var t = 2;</script></head><body>
<h1>Headlines</h1>
<ul id="news"><li>Alpha rises</li><li>Gamma steady</li><li>Delta new</li></ul>
<div class="ad">Buy later! <span>ad 2</span></div>
<pre>  keep
   spaces</pre>
</body></html>`

// TestWebpageMonitorLargePages diffs two 20,000-line pages: one line moved
// from the top to the end, one changed, one inserted. The diff is exact:
// the moved line is listed as removed and added where it moved, which a
// comparison of line counts alone would miss.
func TestWebpageMonitorLargePages(t *testing.T) {
	tool, page, u := wmTool(t)
	var prev, cur []string
	for i := range 20_000 {
		line := fmt.Sprintf("line %d of a long listing", i)
		prev = append(prev, line)
		switch i {
		case 10:
		case 5000:
			cur = append(cur, "changed 5000")
		case 15000:
			cur = append(cur, line, "inserted after 15000")
		default:
			cur = append(cur, line)
		}
	}
	cur = append(cur, prev[10])
	page.set("text/plain", strings.Join(cur, "\n")+"\n")
	res := call(t, tool, map[string]any{"input": u, "previous_content": strings.Join(prev, "\n")})
	want := []any{
		map[string]any{"type": "removed", "line": "line 10 of a long listing"},
		map[string]any{"type": "removed", "line": "line 5000 of a long listing"},
		map[string]any{"type": "added", "line": "changed 5000"},
		map[string]any{"type": "added", "line": "inserted after 15000"},
		map[string]any{"type": "added", "line": "line 10 of a long listing"},
	}
	if !reflect.DeepEqual(res["changes"], want) || res["lines_added"] != 3 || res["lines_removed"] != 2 {
		t.Fatalf("changes %v, %v added, %v removed", res["changes"], res["lines_added"], res["lines_removed"])
	}
	if res["summary"] != "3 lines added, 2 lines removed" || res["changes_truncated"] != false {
		t.Errorf("summary %q, truncated %v", res["summary"], res["changes_truncated"])
	}
}

func TestWebpageMonitorSpec(t *testing.T) {
	tool, _, _ := wmTool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "webpage-monitor" || spec.Returns == "" || spec.Inline {
		t.Fatalf("unexpected spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
}

func TestWebpageMonitorChanges(t *testing.T) {
	tool, page, u := wmTool(t)
	page.set("text/html; charset=utf-8", wmV1)

	first := call(t, tool, map[string]any{"input": u})
	wantContent := "Headlines\nAlpha rises\nBeta falls\nGamma steady\nBuy now! ad 1\nkeep\nspaces"
	if first["content"] != wantContent {
		t.Fatalf("content\n got  %q\n want %q", first["content"], wantContent)
	}
	sum := sha256.Sum256([]byte(wantContent))
	if first["content_hash"] != hex.EncodeToString(sum[:]) {
		t.Errorf("content_hash = %v", first["content_hash"])
	}
	if first["first_check"] != true || first["has_changes"] != false || first["summary"] != "first check" ||
		first["status_code"] != 200 || first["final_url"] != u || first["truncated"] != false {
		t.Errorf("first check result %v", first)
	}
	if _, ok := first["matched"]; ok {
		t.Error("matched present without selector")
	}

	same := call(t, tool, map[string]any{"input": u, "previous_content": first["content"]})
	if same["has_changes"] != false || same["first_check"] != false || same["summary"] != "no changes" ||
		!reflect.DeepEqual(same["changes"], []any{}) {
		t.Errorf("unchanged page: %v", same)
	}

	// Whitespace differences in previous_content do not count by default.
	spaced := "  Headlines \n\n Alpha\trises\nBeta   falls\nGamma steady\nBuy now! ad 1\nkeep\nspaces\n\n"
	if res := call(t, tool, map[string]any{"input": u, "previous_content": spaced}); res["has_changes"] != false {
		t.Errorf("whitespace-only difference reported: %v", res["changes"])
	}

	page.set("text/html", wmV2)
	res := call(t, tool, map[string]any{"input": u, "previous_content": first["content"]})
	wantChanges := []any{
		map[string]any{"type": "removed", "line": "Beta falls"},
		map[string]any{"type": "removed", "line": "Buy now! ad 1"},
		map[string]any{"type": "added", "line": "Delta new"},
		map[string]any{"type": "added", "line": "Buy later! ad 2"},
	}
	if res["has_changes"] != true || !reflect.DeepEqual(res["changes"], wantChanges) ||
		res["lines_added"] != 2 || res["lines_removed"] != 2 || res["summary"] != "2 lines added, 2 lines removed" ||
		res["changes_truncated"] != false {
		t.Errorf("changed page: has_changes %v summary %v changes %v", res["has_changes"], res["summary"], res["changes"])
	}

	// A selector watches only part of the page: the ad changed, the news
	// list did too.
	res = call(t, tool, map[string]any{"input": u, "selector": "#news li", "previous_content": "Alpha rises\nBeta falls\nGamma steady"})
	if res["content"] != "Alpha rises\nGamma steady\nDelta new" || res["matched"] != 3 || res["summary"] != "1 line added, 1 line removed" {
		t.Errorf("selector: content %q matched %v summary %v", res["content"], res["matched"], res["summary"])
	}
	res = call(t, tool, map[string]any{"input": u, "selector": "h1, pre", "previous_content": "Headlines\nkeep\nspaces"})
	if res["has_changes"] != false {
		t.Errorf("unchanged part reported changed: %v", res["changes"])
	}
	res = call(t, tool, map[string]any{"input": u, "selector": "article"})
	if res["content"] != "" || res["matched"] != 0 {
		t.Errorf("no match: content %q matched %v", res["content"], res["matched"])
	}

	// ignore_whitespace false keeps the text as written.
	res = call(t, tool, map[string]any{"input": u, "selector": "pre", "ignore_whitespace": false, "previous_content": "  keep\n  spaces"})
	if res["content"] != "  keep\n   spaces\n" || res["has_changes"] != true ||
		!reflect.DeepEqual(res["changes"], []any{
			map[string]any{"type": "removed", "line": "  spaces"},
			map[string]any{"type": "added", "line": "   spaces"},
		}) {
		t.Errorf("raw: content %q changes %v", res["content"], res["changes"])
	}
}

func TestWebpageMonitorText(t *testing.T) {
	tool, page, u := wmTool(t)
	page.set("text/plain; charset=utf-8", "line 1\n  line   2  \r\nline 3\n")
	res := call(t, tool, map[string]any{"input": u, "previous_content": "line 1\nline 2\nline 4"})
	want := []any{map[string]any{"type": "removed", "line": "line 4"}, map[string]any{"type": "added", "line": "line 3"}}
	if res["content"] != "line 1\nline 2\nline 3" || !reflect.DeepEqual(res["changes"], want) {
		t.Errorf("text: content %q changes %v", res["content"], res["changes"])
	}
	res = call(t, tool, map[string]any{"input": u, "ignore_whitespace": false})
	if res["content"] != "line 1\n  line   2  \r\nline 3\n" {
		t.Errorf("raw text content %q", res["content"])
	}
	res = call(t, tool, map[string]any{"input": u, "ignore_whitespace": false, "previous_content": "line 1\n  line   2  \nline 3"})
	if res["has_changes"] != true || res["summary"] != "only line endings differ" {
		t.Errorf("line endings: has_changes %v summary %v", res["has_changes"], res["summary"])
	}

	page.set("application/json", `{"v": 1}`)
	res = call(t, tool, map[string]any{"input": u, "previous_content": `{"v": 2}`})
	if res["has_changes"] != true || res["lines_added"] != 1 || res["lines_removed"] != 1 {
		t.Errorf("json: %v", res)
	}

	// Many changes: the list is capped and says so.
	var prev, cur strings.Builder
	for i := range 300 {
		fmt.Fprintf(&prev, "old %d\n", i)
		fmt.Fprintf(&cur, "new %d\n", i)
	}
	page.set("text/plain", cur.String())
	res = call(t, tool, map[string]any{"input": u, "previous_content": prev.String()})
	if n := len(res["changes"].([]any)); n != 200 || res["changes_truncated"] != true || res["lines_added"] != 300 || res["lines_removed"] != 300 {
		t.Errorf("capped changes: %d entries, truncated %v, added %v, removed %v", n, res["changes_truncated"], res["lines_added"], res["lines_removed"])
	}
}

func TestWebpageMonitorErrors(t *testing.T) {
	tool, page, u := wmTool(t)
	cases := []struct {
		name   string
		ctype  string
		params map[string]any
		typ    tools.ErrorType
		msg    string
	}{
		{"binary", "image/png", map[string]any{"input": u}, tools.TypeExecution, "neither HTML nor text"},
		{"selector on text", "text/plain", map[string]any{"input": u, "selector": "p"}, tools.TypeExecution, `"selector" needs an HTML page`},
		{"bad selector", "text/html", map[string]any{"input": u, "selector": "p:bogus"}, tools.TypeValidation, "unknown pseudoclass or pseudoelement :bogus"},
		{"previous too large", "text/html", map[string]any{"input": u, "previous_content": strings.Repeat("x", 4<<20+1)}, tools.TypeTooLarge, "previous_content"},
		{"previous wrong type", "text/html", map[string]any{"input": u, "previous_content": 3}, tools.TypeValidation, "expected string"},
		{"ignore_whitespace wrong type", "text/html", map[string]any{"input": u, "ignore_whitespace": "yes"}, tools.TypeValidation, "expected boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page.set(tc.ctype, "\x89PNG\r\n")
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
		})
	}
}

func BenchmarkWebpageMonitor(b *testing.B) {
	tool, page, u := wmTool(b)
	page.set("text/html", wmV2)
	params := map[string]any{"input": u, "previous_content": "Headlines\nAlpha rises\nBeta falls\nGamma steady\nBuy now! ad 1\nkeep\nspaces"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
