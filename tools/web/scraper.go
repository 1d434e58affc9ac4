package web

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"spellhost/tools"
	"spellhost/tools/internal/clip"
)

// web-scraper limits.
const (
	maxText      = 1 << 20 // bytes of the page's visible text, and of one match's text
	maxHTML      = 1 << 20 // bytes of one match's outer HTML
	maxMatchText = 8 << 20 // bytes of all match texts and HTML together
	maxItems     = 10_000  // matches per selector, links, images, meta entries
	maxSelectors = 64      // names in selectors
)

func webScraperSpec() tools.Spec {
	return tools.Spec{
		Name:     "web-scraper",
		Category: "data",
		Description: "Fetches a web page (GET, http and https only, through the network permissions: the host must be " +
			"allowed by --allow-net, which defaults to loopback only) and extracts its title, visible text, elements chosen by CSS selectors, links, " +
			"images and meta tags. Supported selector syntax: " + cssSubset + "; anything else " +
			"is a validation_error naming it. A status other than 2xx is an execution_error naming the status; so is a " +
			"response that is not HTML (by Content-Type text/html or application/xhtml+xml, or by sniffing when there is " +
			"none): the request was valid, the page was not scrapable. The body is read up to the host's response limit " +
			"(16 MiB by default; more is too_large) and decoded to UTF-8 from the encoding its Content-Type charset or a <meta> " +
			"declares (any encoding of the WHATWG Encoding Standard; UTF-8 when none is declared). Visible text leaves out script, style, noscript, template and head; white space is collapsed to " +
			"single spaces. Limits: text 1 MiB; 10000 matches per selector, links, images and meta entries; 8 MiB of " +
			"match text and HTML in all; past a limit the result is cut and truncated is true.",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true,
				Description: fmt.Sprintf("the page URL, http:// or https://, at most %d bytes", maxURLLen)},
			{Name: "selector", Type: tools.String,
				Description: "CSS selector whose matching elements are returned in matches, in document order, e.g. \"div.post > h2 a\"; " +
					"supported: " + cssSubset},
			{Name: "selectors", Type: tools.Object,
				Description: fmt.Sprintf("named CSS selectors, {name: selector}; the result's selections holds {name: [text of each match]} "+
					"(at most %d names)", maxSelectors)},
			{Name: "include_html", Type: tools.Boolean, Default: false,
				Description: "add each match's outer HTML (html) to matches, at most 1 MiB per match"},
			{Name: "extract_links", Type: tools.Boolean, Default: true,
				Description: "list a[href] and area[href] links as absolute URLs (resolved against the final URL or <base href>) with their text"},
			{Name: "extract_images", Type: tools.Boolean, Default: true,
				Description: "list img[src] images as absolute URLs with their alt text"},
			{Name: "extract_meta", Type: tools.Boolean, Default: true,
				Description: "collect <meta> tags as {name or property or http-equiv (lowercase): content}; the first of a name wins"},
			timeoutParam("the request, redirects and body included"),
		},
		Returns: "{url, final_url (after redirects), status_code, content_type, title (first <title>, white space collapsed), " +
			"text (visible text, collapsed, at most 1 MiB), truncated (a limit cut something), " +
			"matches (with selector: [{text, attrs {name: value}, html (with include_html)}]), " +
			"selections (with selectors: {name: [text]}), links (with extract_links: [{url, text}]), " +
			"images (with extract_images: [{src, alt}]), meta (with extract_meta: {name: content})}",
		Example: nil, // needs a server
	}
}

// Scraper returns the web-scraper tool. It fetches through cfg.Perm's
// HTTP client with cfg.HTTPTimeout (30s when unset) unless timeout_ms says
// otherwise.
func Scraper(cfg Config) tools.Tool {
	return tools.New(webScraperSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return scrape(ctx, cfg, p)
	})
}

// namedSelector is one compiled entry of selectors.
type namedSelector struct {
	name string
	sel  *cssSelector
}

func scrape(ctx context.Context, cfg Config, p tools.Params) (any, error) {
	u, err := parseURL("input", p.String("input"))
	if err != nil {
		return nil, err
	}
	timeout, err := parseTimeout(p, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	// Compile every selector before any I/O, so bad input fails fast.
	var sel *cssSelector
	if p.Has("selector") {
		if sel, err = cssCompile("selector", p.String("selector")); err != nil {
			return nil, err
		}
	}
	var named []namedSelector
	if m := p.Map("selectors"); len(m) > 0 {
		if len(m) > maxSelectors {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d selectors exceed the limit of %d", "selectors", len(m), maxSelectors)
		}
		named = make([]namedSelector, 0, len(m))
		for name, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, tools.Invalid("parameter %q: %q: expected a selector string, got %s", "selectors", name, tools.KindOf(v))
			}
			cs, err := cssCompile("selectors."+name, s)
			if err != nil {
				return nil, err
			}
			named = append(named, namedSelector{name, cs})
		}
		slices.SortFunc(named, func(a, b namedSelector) int { return strings.Compare(a.name, b.name) })
	}

	ctx, cancel := deadline(ctx, timeout)
	defer cancel()
	pg, err := fetch(ctx, cfg.Perm, u, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
	if err != nil {
		return nil, err
	}
	if err := statusError(pg); err != nil {
		return nil, err
	}
	if !isHTML(pg) {
		ct := pg.ctype
		if ct == "" {
			ct = "unknown"
		}
		return nil, tools.Failed("fetch %s: content type %s is not HTML", pg.url.Redacted(), ct)
	}
	doc, err := parseHTML(ctx, pg)
	if err != nil {
		return nil, err
	}

	text, truncated := nodeText(doc, textFlat, maxText)
	res := map[string]any{
		"url":          u.String(),
		"final_url":    pg.url.String(),
		"status_code":  pg.status,
		"content_type": pg.ctype,
		"title":        "",
		"text":         text,
	}
	sc := scrapeState{ctx: ctx, budget: maxMatchText}
	base := pg.url
	var titleNode, baseNode *html.Node
	wantMeta, wantLinks, wantImages := p.Bool("extract_meta"), p.Bool("extract_links"), p.Bool("extract_images")
	var links, images []any
	meta := map[string]any{}
	if wantLinks {
		links = []any{}
	}
	if wantImages {
		images = []any{}
	}
	// One pass for title, <base>, meta, links and images.
	var walkErr error
	n := 0
	var walk func(*html.Node) bool
	walk = func(parent *html.Node) bool {
		for c := parent.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			if n++; n&1023 == 0 && ctx.Err() != nil {
				walkErr = context.Cause(ctx)
				return false
			}
			if c.Namespace == "" {
				switch c.Data {
				case "title":
					if titleNode == nil {
						titleNode = c
					}
				case "base":
					if _, ok := attr(c, "href"); ok && baseNode == nil {
						baseNode = c
					}
				case "meta":
					if wantMeta && len(meta) < maxItems {
						collectMeta(c, meta)
					} else if wantMeta {
						truncated = true
					}
				case "a", "area":
					if wantLinks {
						if _, ok := attr(c, "href"); ok {
							if len(links) < maxItems {
								links = append(links, c) // resolved below, once <base> is known
							} else {
								truncated = true
							}
						}
					}
				case "img":
					if wantImages {
						if _, ok := attr(c, "src"); ok {
							if len(images) < maxItems {
								images = append(images, c)
							} else {
								truncated = true
							}
						}
					}
				}
			}
			if c.FirstChild != nil && !walk(c) {
				return false
			}
		}
		return true
	}
	walk(doc)
	if walkErr != nil {
		return nil, walkErr
	}
	if titleNode != nil {
		res["title"], _ = nodeText(titleNode, textFlat, maxShort)
	}
	if baseNode != nil {
		href, _ := attr(baseNode, "href")
		if b, err := pg.url.Parse(strings.TrimSpace(href)); err == nil {
			base = b
		}
	}
	if wantLinks {
		for i, v := range links {
			a := v.(*html.Node)
			href, _ := attr(a, "href")
			t, cut := nodeText(a, textFlat, maxShort)
			truncated = truncated || cut
			links[i] = map[string]any{"url": resolve(base, href), "text": t}
		}
		res["links"] = links
	}
	if wantImages {
		for i, v := range images {
			img := v.(*html.Node)
			src, _ := attr(img, "src")
			alt, _ := attr(img, "alt")
			images[i] = map[string]any{"src": resolve(base, src), "alt": alt}
		}
		res["images"] = images
	}
	if wantMeta {
		res["meta"] = meta
	}

	if sel != nil {
		matches, err := sc.matches(doc, sel, p.Bool("include_html"))
		if err != nil {
			return nil, err
		}
		res["matches"] = matches
	}
	if named != nil {
		selections := make(map[string]any, len(named))
		for _, ns := range named {
			texts, err := sc.texts(doc, ns.sel)
			if err != nil {
				return nil, err
			}
			selections[ns.name] = texts
		}
		res["selections"] = selections
	}
	res["truncated"] = truncated || sc.truncated
	return res, nil
}

// collectMeta records a <meta>'s name (or property, or http-equiv) and
// content; the first of a name wins.
func collectMeta(n *html.Node, meta map[string]any) {
	var key, content string
	hasContent := false
	for _, a := range n.Attr {
		switch a.Key {
		case "name", "property", "itemprop", "http-equiv":
			if key == "" {
				key = strings.ToLower(strings.TrimSpace(a.Val))
			}
		case "content":
			content, hasContent = a.Val, true
		}
	}
	if key == "" || !hasContent {
		return
	}
	if _, seen := meta[key]; !seen {
		meta[key] = clip.String(content, maxShort)
	}
}

// resolve makes ref absolute against base; a reference that does not
// parse is returned trimmed, as written.
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

// scrapeState holds the shared budget of match text across selectors.
type scrapeState struct {
	ctx       context.Context
	budget    int
	truncated bool
}

// take charges n bytes against the budget, reporting whether they fit.
func (sc *scrapeState) take(n int) bool {
	if n > sc.budget {
		sc.truncated = true
		return false
	}
	sc.budget -= n
	return true
}

func (sc *scrapeState) matches(doc *html.Node, sel *cssSelector, withHTML bool) ([]any, error) {
	out := []any{}
	var sb strings.Builder
	err := sel.each(sc.ctx, doc, func(n *html.Node) bool {
		if len(out) == maxItems {
			sc.truncated = true
			return false
		}
		text, cut := nodeText(n, textFlat, min(maxText, sc.budget))
		if cut {
			sc.truncated = true
		}
		if !sc.take(len(text)) {
			return false
		}
		attrs := make(map[string]any, len(n.Attr))
		for _, a := range n.Attr {
			if _, dup := attrs[a.Key]; !dup {
				attrs[a.Key] = a.Val
			}
		}
		m := map[string]any{"text": text, "attrs": attrs}
		if withHTML {
			sb.Reset()
			w := capWriter{b: &sb, max: min(maxHTML, sc.budget)}
			_ = html.Render(&w, n)
			if w.cut {
				sc.truncated = true
			}
			sc.take(sb.Len())
			m["html"] = sb.String()
		}
		out = append(out, m)
		return sc.budget > 0
	})
	return out, err
}

func (sc *scrapeState) texts(doc *html.Node, sel *cssSelector) ([]any, error) {
	out := []any{}
	err := sel.each(sc.ctx, doc, func(n *html.Node) bool {
		if len(out) == maxItems {
			sc.truncated = true
			return false
		}
		text, cut := nodeText(n, textFlat, min(maxText, sc.budget))
		if cut {
			sc.truncated = true
		}
		if !sc.take(len(text)) {
			return false
		}
		out = append(out, text)
		return sc.budget > 0
	})
	return out, err
}

// capWriter keeps the first max bytes written to it, cut at a rune
// boundary, and then fails so rendering stops.
type capWriter struct {
	b   *strings.Builder
	max int
	cut bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.b.Len(); len(p) > room {
		w.b.WriteString(clip.String(string(p), room))
		w.cut = true
		return 0, errFull
	}
	w.b.Write(p)
	return len(p), nil
}

var errFull = errors.New("output limit reached")
