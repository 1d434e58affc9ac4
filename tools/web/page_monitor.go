package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"

	"spellhost/tools"
	"spellhost/tools/internal/clip"
	"spellhost/tools/internal/linediff"
)

// webpage-monitor limits.
const (
	maxContent = 4 << 20 // bytes of extracted content, and of previous_content
	maxChanges = 200     // entries of changes
)

func webpageMonitorSpec() tools.Spec {
	return tools.Spec{
		Name:     "webpage-monitor",
		Category: "data",
		Description: "Fetches a page (GET, http and https only, through the network permissions: the host must be " +
			"allowed by --allow-net, which defaults to loopback only), extracts its content - the visible text of an HTML page, or of the elements a CSS " +
			"selector picks, or the body of a text page (plain text, JSON, XML, CSS, JavaScript) - hashes it and compares it " +
			"with previous_content line by line. HTML text has a line per block element (p, div, li, h1...); script, style " +
			"and head are left out. With ignore_whitespace (the default) each line's white space is collapsed and trimmed and " +
			"blank lines are dropped, in the content and in previous_content alike, so only visible changes count. The diff " +
			"is a shortest line diff (Myers' algorithm); past " + fmt.Sprint(linediff.MaxLines) + " lines on a side " +
			"or " + fmt.Sprint(linediff.MaxWork) + " steps of the algorithm it falls back to a multiset comparison (lines present " +
			"more often on one side), which lists the same lines but not their interleaving. A status other than 2xx, a binary content type, or a selector on a non-HTML page is an " +
			"execution_error. Limits: body up to the host's response limit (16 MiB by default; more is too_large); " +
			"content and previous_content 4 MiB (content past it is cut and truncated is true; a larger previous_content is too_large); " +
			"200 change entries (changes_truncated tells when more were found). Selector syntax: " + cssSubset + ".",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true,
				Description: fmt.Sprintf("the page URL, http:// or https://, at most %d bytes", maxURLLen)},
			{Name: "previous_content", Type: tools.String,
				Description: "content from an earlier check (its content field) to compare with; omitted means this is the first check"},
			{Name: "selector", Type: tools.String,
				Description: "CSS selector limiting the content to the matching elements' text, one element after another " +
					"(HTML pages only); supported: " + cssSubset},
			{Name: "ignore_whitespace", Type: tools.Boolean, Default: true,
				Description: "collapse white space within lines, trim lines and drop blank lines before comparing; false keeps the text as written"},
			timeoutParam("the request, redirects and body included"),
		},
		Returns: "{url, final_url, status_code, content, content_hash (SHA-256 of content, hex), first_check (no previous_content given), " +
			"has_changes (content differs from previous_content; false on a first check), changes ([{type: added|removed, line}] " +
			"in order, at most 200), changes_truncated, lines_added, lines_removed, summary (e.g. \"2 lines added, 1 line removed\", " +
			"\"no changes\" or \"first check\"), truncated (content was cut at 4 MiB), " +
			"matched (with selector: elements matched)}",
		Example: nil, // needs a server
	}
}

// PageMonitor returns the webpage-monitor tool. It fetches through
// cfg.Perm's HTTP client with cfg.HTTPTimeout (30s when unset) unless
// timeout_ms says otherwise.
func PageMonitor(cfg Config) tools.Tool {
	return tools.New(webpageMonitorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return monitorPage(ctx, cfg, p)
	})
}

func monitorPage(ctx context.Context, cfg Config, p tools.Params) (any, error) {
	u, err := parseURL("input", p.String("input"))
	if err != nil {
		return nil, err
	}
	timeout, err := parseTimeout(p, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	var sel *cssSelector
	if p.Has("selector") {
		if sel, err = cssCompile("selector", p.String("selector")); err != nil {
			return nil, err
		}
	}
	prev, first := p.String("previous_content"), !p.Has("previous_content")
	if len(prev) > maxContent {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceed the %d-byte limit", "previous_content", len(prev), maxContent)
	}
	ignoreWS := p.Bool("ignore_whitespace")

	ctx, cancel := deadline(ctx, timeout)
	defer cancel()
	pg, err := fetch(ctx, cfg.Perm, u, "text/html,application/xhtml+xml,text/*;q=0.9,*/*;q=0.5")
	if err != nil {
		return nil, err
	}
	if err := statusError(pg); err != nil {
		return nil, err
	}

	mode := textRaw
	if ignoreWS {
		mode = textLines
	}
	var content string
	truncated := false
	matched := -1
	switch {
	case isHTML(pg):
		doc, err := parseHTML(ctx, pg)
		if err != nil {
			return nil, err
		}
		if sel == nil {
			content, truncated = nodeText(doc, mode, maxContent)
			break
		}
		t := textWriter{mode: mode, max: maxContent}
		matched = 0
		err = sel.each(ctx, doc, func(n *html.Node) bool {
			matched++
			t.line()
			t.node(n, true)
			return !t.full
		})
		if err != nil {
			return nil, err
		}
		content, truncated = string(t.b), t.full
	case sel != nil:
		return nil, tools.Failed("fetch %s: parameter %q needs an HTML page, got content type %s", pg.url.Redacted(), "selector", pg.ctype)
	case isText(pg):
		body := toUTF8(pg.body, pg.contentType, false)
		if len(body) > maxContent {
			body, truncated = []byte(clip.String(string(body[:min(len(body), maxContent+utf8.UTFMax)]), maxContent)), true
		}
		content = string(body)
		if ignoreWS {
			content = normalizeLines(content)
		}
	default:
		return nil, tools.Failed("fetch %s: content type %s is neither HTML nor text", pg.url.Redacted(), pg.ctype)
	}
	if ignoreWS && !first {
		prev = normalizeLines(prev)
	}

	sum := sha256.Sum256([]byte(content))
	res := map[string]any{
		"url":               u.String(),
		"final_url":         pg.url.String(),
		"status_code":       pg.status,
		"content":           content,
		"content_hash":      hex.EncodeToString(sum[:]),
		"first_check":       first,
		"has_changes":       false,
		"changes":           []any{},
		"changes_truncated": false,
		"lines_added":       0,
		"lines_removed":     0,
		"summary":           "no changes",
		"truncated":         truncated,
	}
	if matched >= 0 {
		res["matched"] = matched
	}
	if first {
		res["summary"] = "first check"
		return res, nil
	}
	if prev == content {
		return res, nil
	}
	res["has_changes"] = true
	d, err := lineDiff(ctx, splitContent(prev), splitContent(content))
	if err != nil {
		return nil, err
	}
	res["changes"], res["changes_truncated"] = d.changes, d.cut
	res["lines_added"], res["lines_removed"] = d.added, d.removed
	res["summary"] = changeSummary(d.added, d.removed)
	return res, nil
}

// changeSummary says how many lines were added and removed.
func changeSummary(added, removed int) string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 line " + what
		}
		return fmt.Sprintf("%d lines %s", n, what)
	}
	switch {
	case added > 0 && removed > 0:
		return plural(added, "added") + ", " + plural(removed, "removed")
	case added > 0:
		return plural(added, "added")
	case removed > 0:
		return plural(removed, "removed")
	}
	// The texts differ but their lines do not: only line endings changed.
	return "only line endings differ"
}

// normalizeLines collapses white space within each line, trims lines and
// drops blank ones, as the HTML extraction does with ignore_whitespace.
func normalizeLines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for line := range strings.Lines(s) {
		first := true
		for f := range strings.FieldsSeq(line) {
			if first {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				first = false
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(f)
		}
	}
	return b.String()
}

// splitContent splits text into lines without their terminators; "" has none.
func splitContent(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

type monitorResult struct {
	changes        []any
	cut            bool
	added, removed int
}

func (r *monitorResult) add(kind, line string) {
	if kind == "added" {
		r.added++
	} else {
		r.removed++
	}
	if len(r.changes) == maxChanges {
		r.cut = true
		return
	}
	r.changes = append(r.changes, map[string]any{"type": kind, "line": line})
}

// lineDiff is a line diff: the change regions of diff-calculator's Myers
// engine, each listed as its removed lines then its added lines; past
// linediff.MaxLines lines a side or linediff.MaxWork steps, a multiset comparison.
func lineDiff(ctx context.Context, a, b []string) (*monitorResult, error) {
	r := &monitorResult{changes: []any{}}
	if len(a) > linediff.MaxLines || len(b) > linediff.MaxLines {
		return multiset(ctx, a, b, r)
	}
	changes, err := linediff.Lines(ctx, a, b, linediff.MaxWork)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return multiset(ctx, a, b, r) // too many changes for the step limit
	}
	for _, c := range changes {
		for _, l := range a[c.I1:c.I2] {
			r.add("removed", l)
		}
		for _, l := range b[c.J1:c.J2] {
			r.add("added", l)
		}
	}
	return r, nil
}

// multiset lists the lines of a found more often in a than in b as
// removed, then those of b found more often in b as added, each in order.
func multiset(ctx context.Context, a, b []string, r *monitorResult) (*monitorResult, error) {
	count := make(map[string]int, len(b))
	for _, l := range b {
		count[l]++
	}
	left := make(map[string]int, len(a))
	for i, l := range a {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if count[l] > 0 {
			count[l]--
		} else {
			r.add("removed", l)
		}
		left[l]++
	}
	for i, l := range b {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if left[l] > 0 {
			left[l]--
		} else {
			r.add("added", l)
		}
	}
	return r, nil
}
