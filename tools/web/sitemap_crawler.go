package web

import . "spellhost/tools"
import "spellhost/tools/internal/clip"

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
)

// sitemap-crawler limits.
const (
	smapMaxURLs     = 50_000 // largest max_urls
	smapMaxSitemaps = 1000   // largest max_sitemaps
	smapMaxDepth    = 10     // largest max_depth
	smapMaxLocLen   = 8 << 10
	smapMaxEntries  = 50_000 // <url> or <sitemap> entries read from one sitemap, as the protocol allows
	smapMaxSkipped  = 1000   // entries of skipped
)

func sitemapCrawlerSpec() Spec {
	return Spec{
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
		Params: []Param{
			{Name: "input", Type: String, Required: true,
				Description: fmt.Sprintf("the sitemap or sitemap index URL, http:// or https://, at most %d bytes", wfMaxURLLen)},
			{Name: "follow_sitemaps", Type: Boolean, Default: true,
				Description: "fetch the sitemaps a sitemap index lists; false lists them in skipped instead"},
			{Name: "max_urls", Type: Integer, Default: 1000,
				Description: fmt.Sprintf("stop after this many page URLs, 1 to %d; truncated tells when there were more", smapMaxURLs)},
			{Name: "max_sitemaps", Type: Integer, Default: 20,
				Description: fmt.Sprintf("fetch at most this many sitemaps, the first included, 1 to %d; the rest go to skipped and truncated is true", smapMaxSitemaps)},
			{Name: "max_depth", Type: Integer, Default: 3,
				Description: fmt.Sprintf("how many levels of sitemap indexes to follow below input, 0 to %d: 1 fetches the sitemaps "+
					"input lists, 2 also those they list, and so on; 0 follows none (like follow_sitemaps false); children "+
					"deeper go to skipped", smapMaxDepth)},
			wfTimeoutParam("the whole crawl, every sitemap included"),
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
func SitemapCrawler(cfg Config) Tool {
	return New(sitemapCrawlerSpec(), func(ctx context.Context, p Params) (any, error) {
		return crawlSitemap(ctx, cfg, p)
	})
}

// smapDoc is a parsed sitemap.
type smapDoc struct {
	index    bool
	more     bool             // entries past smapMaxEntries were ignored
	urls     []map[string]any // of a urlset or text sitemap
	children []string         // locs of a sitemap index
}

type smapCrawl struct {
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

func crawlSitemap(ctx context.Context, cfg Config, p Params) (any, error) {
	root, err := wfParseURL("input", p.String("input"))
	if err != nil {
		return nil, err
	}
	timeout, err := wfTimeout(p, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	maxURLs, maxSitemaps, maxDepth := p.Int("max_urls"), p.Int("max_sitemaps"), p.Int("max_depth")
	if maxURLs < 1 || maxURLs > smapMaxURLs {
		return nil, Invalid("parameter %q: %d is out of range 1-%d", "max_urls", maxURLs, smapMaxURLs)
	}
	if maxSitemaps < 1 || maxSitemaps > smapMaxSitemaps {
		return nil, Invalid("parameter %q: %d is out of range 1-%d", "max_sitemaps", maxSitemaps, smapMaxSitemaps)
	}
	if maxDepth < 0 || maxDepth > smapMaxDepth {
		return nil, Invalid("parameter %q: %d is out of range 0-%d", "max_depth", maxDepth, smapMaxDepth)
	}
	ctx, cancel := wfDeadline(ctx, timeout)
	defer cancel()

	c := &smapCrawl{
		ctx: ctx, cfg: cfg, maxURLs: maxURLs, follow: p.Bool("follow_sitemaps"),
		urls: []any{}, seenURL: map[string]bool{}, sitemaps: []any{}, skipped: []any{}, seen: map[string]bool{},
	}
	type item struct {
		u      *url.URL
		parent string
		depth  int
	}
	queue := []item{{u: root}}
	c.seen[smapKey(root)] = true
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
				err = wfPrefix(fmt.Sprintf("sitemap %s (listed in %s)", it.u.Redacted(), it.parent), err)
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
			case wfCheckScheme(ref) != nil:
				c.skip(ref.String(), "unsupported URL: "+wfCheckScheme(ref).Error())
				continue
			case !c.follow:
				c.skip(ref.String(), "not followed (follow_sitemaps is false)")
				continue
			case it.depth >= maxDepth:
				c.skip(ref.String(), fmt.Sprintf("deeper than max_depth %d", maxDepth))
				continue
			}
			key := smapKey(ref)
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

func (c *smapCrawl) skip(u, reason string) {
	c.nskipped++
	if len(c.skipped) < smapMaxSkipped {
		c.skipped = append(c.skipped, map[string]any{"url": u, "reason": reason})
	}
}

// smapKey identifies a sitemap URL for cycle detection: without fragment,
// scheme and host lowercase (url.Parse lowercases the scheme).
func smapKey(u *url.URL) string {
	k := *u
	k.Fragment, k.RawFragment = "", ""
	k.Host = strings.ToLower(k.Host)
	return k.String()
}

// fetch gets and parses one sitemap. A nil doc means the final URL after
// redirects was already fetched.
func (c *smapCrawl) fetch(u *url.URL) (*smapDoc, *url.URL, error) {
	pg, err := wfGet(c.ctx, c.cfg.Perm, u, "application/xml,text/xml;q=0.9,application/gzip;q=0.8,text/plain;q=0.5,*/*;q=0.1")
	if err != nil {
		return nil, nil, err
	}
	if err := wfStatusError(pg); err != nil {
		return nil, nil, err
	}
	if k := smapKey(pg.url); k != smapKey(u) {
		if c.seen[k] {
			return nil, pg.url, nil
		}
		c.seen[k] = true
	}
	body := pg.body
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, Failed("sitemap %s: gzip: %v", pg.url.Redacted(), err)
		}
		limit := c.cfg.Perm.Limits().MaxResponseBytes
		body, err = wfReadCapped(zr, limit, -1)
		if errors.Is(err, errWfTooLarge) {
			return nil, nil, Errorf(TypeTooLarge, "sitemap %s: decompressed size exceeds the %d-byte limit", pg.url.Redacted(), limit)
		}
		if err != nil {
			return nil, nil, Failed("sitemap %s: gzip: %v", pg.url.Redacted(), err)
		}
	}
	doc, err := smapParse(c.ctx, body, pg.charset)
	if err != nil {
		return nil, nil, wfPrefix("sitemap "+pg.url.Redacted(), err)
	}
	return doc, pg.url, nil
}

// smapParse parses an XML sitemap, sitemap index or text sitemap.
func smapParse(ctx context.Context, body []byte, charset string) (*smapDoc, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, Failed("empty document")
	}
	if trimmed[0] != '<' {
		return smapParseText(ctx, wfUTF8(body, charset))
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = smapCharsetReader
	doc := &smapDoc{}
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
			return nil, Failed("malformed XML: %v", err)
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
					return nil, Failed("root element <%s> is neither <urlset> nor <sitemapindex>", smapShort(name))
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
					if len(v) > smapMaxLocLen {
						return nil, Failed("<loc> of %d bytes exceeds the %d-byte limit", len(v), smapMaxLocLen)
					}
					cur["loc"] = v
				default:
					cur[field] = v
				}
				field = ""
			case entry > 0 && depth == entry:
				if loc := cur["loc"].(string); loc != "" {
					if len(doc.urls)+len(doc.children) >= smapMaxEntries {
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
		return nil, Failed("no root element")
	}
	if depth != 0 {
		return nil, Failed("malformed XML: unexpected end of document")
	}
	return doc, nil
}

// smapShort keeps element names in messages short.
func smapShort(s string) string { return clip.String(s, 64) }

// smapCharsetReader decodes the XML encodings besides UTF-8 that sitemaps
// use in practice.
func smapCharsetReader(charset string, r io.Reader) (io.Reader, error) {
	cs := strings.ToLower(charset)
	switch cs {
	case "iso-8859-1", "latin1", "iso8859-1", "l1", "windows-1252", "cp1252", "us-ascii", "ascii":
		data, err := io.ReadAll(r) // already in memory, within the response limit
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(wfUTF8(data, cs)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", clip.String(charset, 64))
}

// smapParseText reads a text sitemap: one absolute http or https URL per
// line; blank lines are ignored.
func smapParseText(ctx context.Context, body []byte) (*smapDoc, error) {
	doc := &smapDoc{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), smapMaxLocLen+2)
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
		if err != nil || wfCheckScheme(u) != nil {
			return nil, Failed("text sitemap line %d: %q is not an absolute http or https URL", line, clip.String(s, 200))
		}
		if len(doc.urls) >= smapMaxEntries {
			doc.more = true
			break
		}
		doc.urls = append(doc.urls, map[string]any{"loc": s, "lastmod": "", "changefreq": "", "priority": nil})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, Failed("text sitemap line %d: longer than %d bytes", line+1, smapMaxLocLen)
		}
		return nil, Failed("text sitemap: %v", err)
	}
	return doc, nil
}
