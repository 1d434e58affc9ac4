package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"spellhost/tools"
	"spellhost/tools/internal/clip"
)

// sitemap-crawler limits.
const (
	sitemapMaxURLs     = 50_000 // largest max_urls
	sitemapMaxSitemaps = 1000   // largest max_sitemaps
	sitemapMaxDepth    = 10     // largest max_depth
	maxLocLen          = 8 << 10
	maxEntries         = 50_000 // <url> or <sitemap> entries read from one sitemap, as the protocol allows
	maxSkipped         = 1000   // entries of skipped
)

func sitemapCrawlerSpec() tools.Spec {
	return tools.Spec{
		Name:     "sitemap-crawler",
		Category: "data",
		Description: "Reads an XML sitemap (<urlset> of <url> with loc, lastmod, changefreq and priority) or a sitemap index " +
			"(<sitemapindex> of <sitemap><loc>), following the index's children breadth-first, and lists the page URLs. " +
			"Also reads gzip-compressed sitemaps (a .gz file or Content-Encoding: gzip, recognized by content) and text " +
			"sitemaps (one URL per line). Every sitemap, children and redirects included, is fetched (GET, http and https " +
			"only) through the network permissions: every host must be allowed by --allow-net (without the flag, loopback only). A child the " +
			"permissions refuse fails the whole crawl with permission_denied naming the child and its parent - it is never " +
			"fetched, and a partial list would hide the refusal; so does any other failure of a child (status other than 2xx, " +
			"malformed XML, too large), as an error naming the child. Children with a scheme other than http or https, " +
			"children already fetched (cycles and duplicates), children deeper than max_depth and children past max_sitemaps " +
			"are not fetched and are listed in skipped with the reason. Page URLs are deduplicated, first occurrence kept. " +
			"Limits: each sitemap, compressed and decompressed, up to the host's response limit (16 MiB by default; more is " +
			"too_large) and 50000 entries (more are ignored and truncated is true); max_urls at most 50000; max_sitemaps at " +
			"most 1000; max_depth at most 10; skipped lists at most 1000 entries (skipped_count counts them all).",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true,
				Description: fmt.Sprintf("the sitemap or sitemap index URL, http:// or https://, at most %d bytes", maxURLLen)},
			{Name: "follow_sitemaps", Type: tools.Boolean, Default: true,
				Description: "fetch the sitemaps a sitemap index lists; false lists them in skipped instead"},
			{Name: "max_urls", Type: tools.Integer, Default: 1000,
				Description: fmt.Sprintf("stop after this many page URLs, 1 to %d; truncated tells when there were more", sitemapMaxURLs)},
			{Name: "max_sitemaps", Type: tools.Integer, Default: 20,
				Description: fmt.Sprintf("fetch at most this many sitemaps, the first included, 1 to %d; the rest go to skipped and truncated is true", sitemapMaxSitemaps)},
			{Name: "max_depth", Type: tools.Integer, Default: 3,
				Description: fmt.Sprintf("how many levels of sitemap indexes to follow below input, 0 to %d: 1 fetches the sitemaps "+
					"input lists, 2 also those they list, and so on; 0 follows none (like follow_sitemaps false); children "+
					"deeper go to skipped", sitemapMaxDepth)},
			timeoutParam("the whole crawl, every sitemap included"),
		},
		Returns: "{urls: [{loc, lastmod (\"\" if absent), changefreq (\"\" if absent), priority (number, null if absent or not a number)}], " +
			"count, sitemaps: [URLs fetched, in order], skipped: [{url, reason}], skipped_count, " +
			"truncated (max_urls, max_sitemaps or the entry limit cut the crawl short)}",
		Example: nil, // needs a server
	}
}

// SitemapCrawler returns the sitemap-crawler tool. It fetches through
// cfg.Perm's HTTP client; cfg.HTTPTimeout (30s when unset) bounds the
// whole crawl unless timeout_ms says otherwise.
func SitemapCrawler(cfg Config) tools.Tool {
	return tools.New(sitemapCrawlerSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return crawlSitemap(ctx, cfg, p)
	})
}

// sitemapDoc is a parsed sitemap.
type sitemapDoc struct {
	index    bool
	more     bool             // entries past maxEntries were ignored
	urls     []map[string]any // of a urlset or text sitemap
	children []string         // locs of a sitemap index
}

type crawl struct {
	ctx      context.Context
	cfg      Config
	maxURLs  int
	follow   bool
	urls     []any
	seenURL  map[string]bool
	sitemaps []any
	skipped  []any
	nskipped int
	seen     map[string]bool // sitemap URLs queued or fetched, and final URLs fetched
	cut      bool
}

func crawlSitemap(ctx context.Context, cfg Config, p tools.Params) (any, error) {
	root, err := parseURL("input", p.String("input"))
	if err != nil {
		return nil, err
	}
	timeout, err := parseTimeout(p, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	maxURLs, maxSitemaps, maxDepth := p.Int("max_urls"), p.Int("max_sitemaps"), p.Int("max_depth")
	if maxURLs < 1 || maxURLs > sitemapMaxURLs {
		return nil, tools.Invalid("parameter %q: %d is out of range 1-%d", "max_urls", maxURLs, sitemapMaxURLs)
	}
	if maxSitemaps < 1 || maxSitemaps > sitemapMaxSitemaps {
		return nil, tools.Invalid("parameter %q: %d is out of range 1-%d", "max_sitemaps", maxSitemaps, sitemapMaxSitemaps)
	}
	if maxDepth < 0 || maxDepth > sitemapMaxDepth {
		return nil, tools.Invalid("parameter %q: %d is out of range 0-%d", "max_depth", maxDepth, sitemapMaxDepth)
	}
	ctx, cancel := deadline(ctx, timeout)
	defer cancel()

	c := &crawl{
		ctx: ctx, cfg: cfg, maxURLs: maxURLs, follow: p.Bool("follow_sitemaps"),
		urls: []any{}, seenURL: map[string]bool{}, sitemaps: []any{}, skipped: []any{}, seen: map[string]bool{},
	}
	type item struct {
		u      *url.URL
		parent string
		depth  int
	}
	queue := []item{{u: root}}
	c.seen[sitemapKey(root)] = true
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if len(c.sitemaps) == maxSitemaps || len(c.urls) >= maxURLs {
			reason := "max_sitemaps reached"
			if len(c.urls) >= maxURLs {
				reason = "max_urls reached"
			}
			c.skip(it.u.String(), reason)
			c.cut = true
			continue
		}
		doc, final, err := c.fetch(it.u)
		if err != nil {
			if it.parent != "" {
				err = prefix(fmt.Sprintf("sitemap %s (listed in %s)", it.u.Redacted(), it.parent), err)
			}
			return nil, err
		}
		c.sitemaps = append(c.sitemaps, it.u.String())
		if doc == nil {
			c.skip(it.u.String(), "redirected to an already fetched sitemap "+final.String())
			continue
		}
		c.cut = c.cut || doc.more
		for _, m := range doc.urls {
			if len(c.urls) >= maxURLs {
				c.cut = true
				break
			}
			loc := m["loc"].(string)
			if c.seenURL[loc] {
				continue
			}
			c.seenURL[loc] = true
			c.urls = append(c.urls, m)
		}
		for _, loc := range doc.children {
			ref, err := final.Parse(loc)
			switch {
			case err != nil:
				c.skip(loc, "not a valid URL")
				continue
			case checkURL(ref) != nil:
				c.skip(ref.String(), "unsupported URL: "+checkURL(ref).Error())
				continue
			case !c.follow:
				c.skip(ref.String(), "not followed (follow_sitemaps is false)")
				continue
			case it.depth >= maxDepth:
				c.skip(ref.String(), fmt.Sprintf("deeper than max_depth %d", maxDepth))
				continue
			}
			key := sitemapKey(ref)
			if c.seen[key] {
				c.skip(ref.String(), "already fetched or queued (cycle or duplicate)")
				continue
			}
			c.seen[key] = true
			queue = append(queue, item{u: ref, parent: final.Redacted(), depth: it.depth + 1})
		}
	}
	return map[string]any{
		"urls":          c.urls,
		"count":         len(c.urls),
		"sitemaps":      c.sitemaps,
		"skipped":       c.skipped,
		"skipped_count": c.nskipped,
		"truncated":     c.cut,
	}, nil
}

func (c *crawl) skip(u, reason string) {
	c.nskipped++
	if len(c.skipped) < maxSkipped {
		c.skipped = append(c.skipped, map[string]any{"url": u, "reason": reason})
	}
}

// sitemapKey identifies a sitemap URL for cycle detection: without fragment,
// scheme and host lowercase (url.Parse lowercases the scheme).
func sitemapKey(u *url.URL) string {
	k := *u
	k.Fragment, k.RawFragment = "", ""
	k.Host = strings.ToLower(k.Host)
	return k.String()
}

// fetch gets and parses one sitemap. A nil doc means the final URL after
// redirects was already fetched.
func (c *crawl) fetch(u *url.URL) (*sitemapDoc, *url.URL, error) {
	pg, err := fetch(c.ctx, c.cfg.Perm, u, "application/xml,text/xml;q=0.9,application/gzip;q=0.8,text/plain;q=0.5,*/*;q=0.1")
	if err != nil {
		return nil, nil, err
	}
	if err := statusError(pg); err != nil {
		return nil, nil, err
	}
	if k := sitemapKey(pg.url); k != sitemapKey(u) {
		if c.seen[k] {
			return nil, pg.url, nil
		}
		c.seen[k] = true
	}
	body := pg.body
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, tools.Failed("sitemap %s: gzip: %v", pg.url.Redacted(), err)
		}
		limit := c.cfg.Perm.Limits().MaxResponseBytes
		body, err = readCapped(zr, limit, -1)
		if errors.Is(err, errTooLarge) {
			return nil, nil, tools.Errorf(tools.TypeTooLarge, "sitemap %s: decompressed size exceeds the %d-byte limit", pg.url.Redacted(), limit)
		}
		if err != nil {
			return nil, nil, tools.Failed("sitemap %s: gzip: %v", pg.url.Redacted(), err)
		}
	}
	doc, err := parseSitemap(c.ctx, body, pg.contentType)
	if err != nil {
		return nil, nil, prefix("sitemap "+pg.url.Redacted(), err)
	}
	return doc, pg.url, nil
}

// parseSitemap parses an XML sitemap, sitemap index or text sitemap.
func parseSitemap(ctx context.Context, body []byte, contentType string) (*sitemapDoc, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, tools.Failed("empty document")
	}
	if trimmed[0] != '<' {
		return parseTextSitemap(ctx, toUTF8(body, contentType, false))
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = decodeReader
	doc := &sitemapDoc{}
	var (
		depth    int    // open elements
		entry    int    // depth of the open <url> or <sitemap>, 0 when none
		field    string // child of the entry being read
		text     []byte
		cur      map[string]any
		rootSeen bool
		ns       string // the root element's namespace, which entries and fields must share
	)
	for n := 0; ; n++ {
		if n&255 == 255 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tools.Failed("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			switch {
			case depth == 1:
				rootSeen, ns = true, t.Name.Space
				switch name {
				case "urlset":
				case "sitemapindex":
					doc.index = true
				default:
					return nil, tools.Failed("root element <%s> is neither <urlset> nor <sitemapindex>", shortName(name))
				}
			case depth == 2 && t.Name.Space == ns && (name == "url" && !doc.index || name == "sitemap" && doc.index):
				entry = depth
				cur = map[string]any{"loc": "", "lastmod": "", "changefreq": "", "priority": nil}
			case entry > 0 && depth == entry+1 && t.Name.Space == ns:
				switch name {
				case "loc", "lastmod", "changefreq", "priority":
					field, text = name, text[:0]
				}
			}
		case xml.EndElement:
			switch {
			case field != "" && depth == entry+1:
				v := strings.TrimSpace(string(text))
				switch field {
				case "priority":
					if f, err := strconv.ParseFloat(v, 64); err == nil {
						cur["priority"] = f
					}
				case "loc":
					if len(v) > maxLocLen {
						return nil, tools.Failed("<loc> of %d bytes exceeds the %d-byte limit", len(v), maxLocLen)
					}
					cur["loc"] = v
				default:
					cur[field] = v
				}
				field = ""
			case entry > 0 && depth == entry:
				if loc := cur["loc"].(string); loc != "" {
					if len(doc.urls)+len(doc.children) >= maxEntries {
						doc.more = true
					} else if doc.index {
						doc.children = append(doc.children, loc)
					} else {
						doc.urls = append(doc.urls, cur)
					}
				}
				entry, cur = 0, nil
			}
			depth--
		case xml.CharData:
			if field != "" {
				text = append(text, t...)
			}
		}
	}
	if !rootSeen {
		return nil, tools.Failed("no root element")
	}
	if depth != 0 {
		return nil, tools.Failed("malformed XML: unexpected end of document")
	}
	return doc, nil
}

// shortName keeps element names in messages short.
func shortName(s string) string { return clip.String(s, 64) }

// parseTextSitemap reads a text sitemap: one absolute http or https URL per
// line; blank lines are ignored.
func parseTextSitemap(ctx context.Context, body []byte) (*sitemapDoc, error) {
	doc := &sitemapDoc{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxLocLen+2)
	line := 0
	for sc.Scan() {
		line++
		if line&255 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || checkURL(u) != nil {
			return nil, tools.Failed("text sitemap line %d: %q is not an absolute http or https URL", line, clip.String(s, 200))
		}
		if len(doc.urls) >= maxEntries {
			doc.more = true
			break
		}
		doc.urls = append(doc.urls, map[string]any{"loc": s, "lastmod": "", "changefreq": "", "priority": nil})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, tools.Failed("text sitemap line %d: longer than %d bytes", line+1, maxLocLen)
		}
		return nil, tools.Failed("text sitemap: %v", err)
	}
	return doc, nil
}
