package web

import . "spellhost/tools"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"

	"spellhost/tools/perm"
)

// Fetching and text extraction shared by web-scraper, webpage-monitor and
// sitemap-crawler. Every request goes through the permission set's HTTP
// client, which checks each dial, redirects included.

// Fetch limits.
const (
	wfMaxURLLen    = 8 << 10        // bytes of a URL parameter
	wfMaxTimeoutMS = 10 * 60 * 1000 // largest timeout_ms
	wfMaxShort     = 4 << 10        // bytes of a title, a link's text or a meta value
	wfUserAgent    = "spellhost/1"
)

// wfTimeoutParam declares the timeout_ms parameter; what says what it bounds.
func wfTimeoutParam(what string) Param {
	return Param{Name: "timeout_ms", Type: Integer, Description: fmt.Sprintf(
		"timeout of %s in milliseconds, 1 to %d; default the host's HTTP timeout (30 s unless configured); "+
			"a sooner deadline of the caller wins", what, wfMaxTimeoutMS)}
}

// wfTimeout returns the timeout_ms parameter as a duration, or def.
func wfTimeout(p Params, def time.Duration) (time.Duration, error) {
	if def <= 0 {
		def = 30 * time.Second
	}
	if !p.Has("timeout_ms") {
		return def, nil
	}
	ms := p.Int("timeout_ms")
	if ms < 1 || ms > wfMaxTimeoutMS {
		return 0, Invalid("parameter %q: %d is out of range 1-%d", "timeout_ms", ms, wfMaxTimeoutMS)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// wfDeadline bounds ctx by timeout, with a cause that says which limit
// fired. A sooner deadline of ctx keeps its own cause.
func wfDeadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, timeout,
		Errorf(TypeTimeout, "timed out after %v (timeout_ms, or the host's HTTP timeout)", timeout))
}

// wfParseURL checks that raw is an absolute http or https URL with a host.
func wfParseURL(param, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > wfMaxURLLen {
		return nil, Errorf(TypeTooLarge, "parameter %q: URL of %d bytes exceeds the %d-byte limit", param, len(raw), wfMaxURLLen)
	}
	if raw == "" {
		return nil, Invalid("parameter %q: empty URL", param)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, Invalid("parameter %q: invalid URL: %v", param, err)
	}
	if err := wfCheckScheme(u); err != nil {
		return nil, Invalid("parameter %q: %v", param, err)
	}
	return u, nil
}

// wfCheckScheme accepts absolute http and https URLs with a host.
func wfCheckScheme(u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
	case "":
		return fmt.Errorf("URL %q has no scheme; want http:// or https://", u.Redacted())
	default:
		return fmt.Errorf("scheme %q is not supported; want http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("URL %q has no host", u.Redacted())
	}
	return nil
}

// wfPage is a fetched response.
type wfPage struct {
	url     *url.URL // final URL, after redirects
	status  int
	ctype   string // media type, lowercase, without parameters; "" when absent
	charset string // lowercase charset parameter
	header  http.Header
	body    []byte
}

// wfGet fetches u with GET through ps, reading at most the response limit.
// A body over the limit is a too_large error. The status is not checked.
// ctx bounds the whole exchange (see wfDeadline).
func wfGet(ctx context.Context, ps *perm.Set, u *url.URL, accept string) (*wfPage, error) {
	if ps == nil {
		return nil, Errorf(TypePermission, "fetch %s: network access is not configured; allow it with --allow-net", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, Invalid("fetch %s: %v", u.Redacted(), err)
	}
	req.Header.Set("User-Agent", wfUserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := ps.HTTPClient(0).Do(req)
	if err != nil {
		return nil, wfError(ctx, u, err)
	}
	defer resp.Body.Close()
	limit := ps.Limits().MaxResponseBytes
	body, err := wfReadCapped(resp.Body, limit, resp.ContentLength)
	if err != nil {
		if errors.Is(err, errWfTooLarge) {
			return nil, Errorf(TypeTooLarge, "fetch %s: response body exceeds the %d-byte limit", u.Redacted(), limit)
		}
		return nil, wfError(ctx, u, err)
	}
	pg := &wfPage{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, body: body}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			mt, _, _ = strings.Cut(ct, ";")
		}
		pg.ctype = strings.ToLower(strings.TrimSpace(mt))
		pg.charset = strings.ToLower(strings.TrimSpace(params["charset"]))
	}
	return pg, nil
}

var errWfTooLarge = errors.New("over the size limit")

// wfReadCapped reads r to the end, failing with errWfTooLarge past limit
// bytes. size, when known (>= 0), sizes the buffer.
func wfReadCapped(r io.Reader, limit, size int64) ([]byte, error) {
	if size > limit {
		return nil, errWfTooLarge
	}
	buf := bytes.Buffer{}
	if size > 0 {
		buf.Grow(int(size) + 1)
	} else {
		buf.Grow(4096)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errWfTooLarge
	}
	return buf.Bytes(), nil
}

// wfError classifies a failed request, keeping permission, timeout and
// cancellation causes so their error types survive.
func wfError(ctx context.Context, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case hxRefused(err):
		return fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	case ctx.Err() != nil:
		return fmt.Errorf("fetch %s: %w", u.Redacted(), context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Errorf(TypeTimeout, "fetch %s: %v", u.Redacted(), err)
	}
	return Failed("fetch %s: %v", u.Redacted(), err)
}

// wfPrefix puts prefix before err's message, keeping its type. (Wrapping
// an *Error with fmt.Errorf would lose the prefix in WithOp.)
func wfPrefix(prefix string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Type: e.Type, Err: fmt.Errorf("%s: %w", prefix, e.Err)}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// wfStatusError is the error of a response whose status is not 2xx.
func wfStatusError(pg *wfPage) error {
	if pg.status >= 200 && pg.status < 300 {
		return nil
	}
	return Failed("fetch %s: server answered %d %s", pg.url.Redacted(), pg.status, http.StatusText(pg.status))
}

// wfIsHTML reports whether the page is HTML: by its content type, or by
// sniffing when it has none.
func wfIsHTML(pg *wfPage) bool {
	switch pg.ctype {
	case "text/html", "application/xhtml+xml":
		return true
	case "":
		return strings.HasPrefix(http.DetectContentType(pg.body), "text/html")
	}
	return false
}

// wfIsText reports whether the page is text of some kind (HTML, XML, JSON,
// plain text, scripts and styles).
func wfIsText(pg *wfPage) bool {
	t := pg.ctype
	if t == "" {
		t, _, _ = strings.Cut(http.DetectContentType(pg.body), ";")
	}
	return strings.HasPrefix(t, "text/") || strings.HasSuffix(t, "+xml") || strings.HasSuffix(t, "+json") ||
		t == "application/xml" || t == "application/json" || t == "application/javascript" ||
		t == "application/ecmascript" || t == "application/x-ndjson"
}

// wfUTF8 returns the body as UTF-8: ISO-8859-1 and windows-1252 (by the
// Content-Type charset) are converted, anything else is taken as UTF-8
// with invalid sequences replaced by U+FFFD.
func wfUTF8(body []byte, charset string) []byte {
	switch charset {
	case "iso-8859-1", "latin1", "iso8859-1", "l1", "windows-1252", "cp1252", "us-ascii", "ascii":
		return wfLatin1(body, charset == "windows-1252" || charset == "cp1252")
	}
	if utf8.Valid(body) {
		return body
	}
	return bytes.ToValidUTF8(body, []byte("\uFFFD"))
}

// wfCP1252 maps windows-1252 bytes 0x80-0x9F to runes (0 = unassigned,
// kept as the C1 control of the same value).
var wfCP1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

func wfLatin1(body []byte, cp1252 bool) []byte {
	high := 0
	for _, c := range body {
		if c >= 0x80 {
			high++
		}
	}
	if high == 0 {
		return body
	}
	out := make([]byte, 0, len(body)+2*high)
	for _, c := range body {
		switch {
		case c < 0x80:
			out = append(out, c)
		case cp1252 && c < 0xA0 && wfCP1252[c-0x80] != 0:
			out = utf8.AppendRune(out, wfCP1252[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out
}

// wfParseHTML parses a UTF-8 HTML body. Pages nested deeper than the
// parser's 512 open elements fail.
func wfParseHTML(ctx context.Context, pg *wfPage) (*html.Node, error) {
	charset := pg.charset
	if charset == "" {
		charset = wfMetaCharset(pg.body)
	}
	doc, err := html.Parse(bytes.NewReader(wfUTF8(pg.body, charset)))
	if err != nil {
		return nil, Failed("parse HTML of %s: %v", pg.url.Redacted(), err)
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return doc, nil
}

// wfMetaCharset finds the charset a page declares in its first 1024
// bytes, <meta charset="x"> or <meta http-equiv="Content-Type"
// content="text/html; charset=x">, lowercase; "" when none.
func wfMetaCharset(body []byte) string {
	head := bytes.ToLower(body[:min(len(body), 1024)])
	for i := 0; ; {
		j := bytes.Index(head[i:], []byte("<meta"))
		if j < 0 {
			return ""
		}
		i += j + 5
		end := bytes.IndexByte(head[i:], '>')
		if end < 0 {
			return ""
		}
		tag := head[i : i+end]
		if k := bytes.Index(tag, []byte("charset=")); k >= 0 {
			v := bytes.TrimLeft(tag[k+8:], "\"' ")
			n := bytes.IndexAny(v, "\"' ;/")
			if n < 0 {
				n = len(v)
			}
			return string(v[:n])
		}
		i += end
	}
}

// Text extraction modes.
const (
	wfFlat  = iota // one line, runs of white space collapsed to one space
	wfLines        // a line per block, white space collapsed within lines, blank lines dropped
	wfRaw          // text as written, a newline at block boundaries
)

// wfSkipped are elements whose content is not visible text. They are
// skipped below the element the extraction starts at, so selecting a
// script element still yields its text.
var wfSkipped = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "head": true,
	"iframe": true, "object": true, "embed": true, "canvas": true,
}

// wfBlocks are elements that start a new line (wfLines, wfRaw) or at least
// separate words (wfFlat).
var wfBlocks = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "body": true, "br": true,
	"caption": true, "dd": true, "details": true, "dialog": true, "div": true, "dl": true, "dt": true,
	"fieldset": true, "figcaption": true, "figure": true, "footer": true, "form": true, "h1": true,
	"h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hgroup": true,
	"hr": true, "html": true, "legend": true, "li": true, "main": true, "menu": true, "nav": true,
	"ol": true, "option": true, "p": true, "pre": true, "section": true, "summary": true,
	"table": true, "tbody": true, "tfoot": true, "thead": true, "title": true, "tr": true, "ul": true,
}

// wfCells separate words but do not break lines.
var wfCells = map[string]bool{"td": true, "th": true}

// wfText accumulates text, collapsing white space by mode, up to max bytes.
type wfText struct {
	b         []byte
	max       int
	mode      int
	pendSpace bool
	pendLine  bool
	pre       int // depth inside <pre>
	full      bool
}

// space marks a word boundary.
func (t *wfText) space() {
	if len(t.b) > 0 {
		t.pendSpace = true
	}
}

// line marks a line boundary.
func (t *wfText) line() {
	switch t.mode {
	case wfFlat:
		t.space()
	case wfLines:
		if len(t.b) > 0 {
			t.pendLine = true
		}
	case wfRaw:
		if len(t.b) > 0 && t.b[len(t.b)-1] != '\n' {
			t.put("\n")
		}
	}
}

// put appends s unchanged, within the cap.
func (t *wfText) put(s string) {
	if t.full {
		return
	}
	if len(t.b)+len(s) > t.max {
		n := t.max - len(t.b)
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		t.b = append(t.b, s[:n]...)
		t.full = true
		return
	}
	t.b = append(t.b, s...)
}

// text appends the text of a text node.
func (t *wfText) text(s string) {
	if t.full {
		return
	}
	if t.mode == wfRaw {
		t.put(s)
		return
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				if c == '\n' && t.pre > 0 && t.mode == wfLines {
					t.line()
				} else {
					t.space()
				}
				i++
				continue
			}
			t.flush()
			if len(t.b) >= t.max {
				t.full = true
				return
			}
			t.b = append(t.b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			t.space()
			i += size
			continue
		}
		t.flush()
		if len(t.b)+size > t.max {
			t.full = true
			return
		}
		t.b = append(t.b, s[i:i+size]...)
		i += size
	}
}

// flush writes a pending separator before a visible character.
func (t *wfText) flush() {
	if t.pendLine {
		t.b = append(t.b, '\n')
	} else if t.pendSpace {
		t.b = append(t.b, ' ')
	}
	t.pendLine, t.pendSpace = false, false
}

// node appends the text below n (n included). Depth is bounded by the
// HTML parser's nesting limit.
func (t *wfText) node(n *html.Node, top bool) {
	if t.full {
		return
	}
	switch n.Type {
	case html.TextNode:
		t.text(n.Data)
		return
	case html.ElementNode:
		if !top && wfSkipped[n.Data] && n.Namespace == "" {
			return
		}
	case html.DocumentNode:
	default:
		return
	}
	block, cell := wfBlocks[n.Data], wfCells[n.Data]
	if block {
		t.line()
	} else if cell {
		t.space()
	}
	if n.Data == "pre" {
		t.pre++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.node(c, false)
	}
	if n.Data == "pre" {
		t.pre--
	}
	if block {
		t.line()
	} else if cell {
		t.space()
	}
}

// wfNodeText returns the text below n by mode, at most max bytes, and
// whether it was cut.
func wfNodeText(n *html.Node, mode, max int) (string, bool) {
	t := wfText{mode: mode, max: max}
	t.node(n, true)
	return string(t.b), t.full
}

// wfAttr returns n's attribute key (lowercase) and whether it is present.
func wfAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

//END
