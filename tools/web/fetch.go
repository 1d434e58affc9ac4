package web

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

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Fetching and text extraction shared by web-scraper, webpage-monitor and
// sitemap-crawler. Every request goes through the permission set's HTTP
// client, which checks each dial, redirects included.

// Fetch limits.
const (
	fetchMaxURLLen    = 8 << 10        // bytes of a URL parameter
	fetchMaxTimeoutMS = 10 * 60 * 1000 // largest timeout_ms
	maxShort          = 4 << 10        // bytes of a title, a link's text or a meta value
	fetchUserAgent    = "spellhost/1"
)

// timeoutParam declares the timeout_ms parameter; what says what it bounds.
func timeoutParam(what string) tools.Param {
	return tools.Param{Name: "timeout_ms", Type: tools.Integer, Description: fmt.Sprintf(
		"timeout of %s in milliseconds, 1 to %d; default the host's HTTP timeout (30 s unless configured); "+
			"a sooner deadline of the caller wins", what, fetchMaxTimeoutMS)}
}

// fetchTimeout returns the timeout_ms parameter as a duration, or def.
func fetchTimeout(p tools.Params, def time.Duration) (time.Duration, error) {
	if def <= 0 {
		def = 30 * time.Second
	}
	if !p.Has("timeout_ms") {
		return def, nil
	}
	ms := p.Int("timeout_ms")
	if ms < 1 || ms > fetchMaxTimeoutMS {
		return 0, tools.Invalid("parameter %q: %d is out of range 1-%d", "timeout_ms", ms, fetchMaxTimeoutMS)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// deadline bounds ctx by timeout, with a cause that says which limit
// fired. A sooner deadline of ctx keeps its own cause.
func deadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, timeout,
		tools.Errorf(tools.TypeTimeout, "timed out after %v (timeout_ms, or the host's HTTP timeout)", timeout))
}

// fetchParseURL checks that raw is an absolute http or https URL with a host.
func fetchParseURL(param, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > fetchMaxURLLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: URL of %d bytes exceeds the %d-byte limit", param, len(raw), fetchMaxURLLen)
	}
	if raw == "" {
		return nil, tools.Invalid("parameter %q: empty URL", param)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, tools.Invalid("parameter %q: invalid URL: %v", param, err)
	}
	if err := checkScheme(u); err != nil {
		return nil, tools.Invalid("parameter %q: %v", param, err)
	}
	return u, nil
}

// checkScheme accepts absolute http and https URLs with a host.
func checkScheme(u *url.URL) error {
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

// page is a fetched response.
type page struct {
	url     *url.URL // final URL, after redirects
	status  int
	ctype   string // media type, lowercase, without parameters; "" when absent
	charset string // lowercase charset parameter
	header  http.Header
	body    []byte
}

// fetch fetches u with GET through ps, reading at most the response limit.
// A body over the limit is a too_large error. The status is not checked.
// ctx bounds the whole exchange (see deadline).
func fetch(ctx context.Context, ps *perm.Set, u *url.URL, accept string) (*page, error) {
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "fetch %s: network access is not configured; allow it with --allow-net", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, tools.Invalid("fetch %s: %v", u.Redacted(), err)
	}
	req.Header.Set("User-Agent", fetchUserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := ps.HTTPClient(0).Do(req)
	if err != nil {
		return nil, wfError(ctx, u, err)
	}
	defer resp.Body.Close()
	limit := ps.Limits().MaxResponseBytes
	body, err := readCapped(resp.Body, limit, resp.ContentLength)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, tools.Errorf(tools.TypeTooLarge, "fetch %s: response body exceeds the %d-byte limit", u.Redacted(), limit)
		}
		return nil, wfError(ctx, u, err)
	}
	pg := &page{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, body: body}
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

var errTooLarge = errors.New("over the size limit")

// readCapped reads r to the end, failing with errTooLarge past limit
// bytes. size, when known (>= 0), sizes the buffer.
func readCapped(r io.Reader, limit, size int64) ([]byte, error) {
	if size > limit {
		return nil, errTooLarge
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
		return nil, errTooLarge
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
	case refused(err):
		return fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	case ctx.Err() != nil:
		return fmt.Errorf("fetch %s: %w", u.Redacted(), context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return tools.Errorf(tools.TypeTimeout, "fetch %s: %v", u.Redacted(), err)
	}
	return tools.Failed("fetch %s: %v", u.Redacted(), err)
}

// prefix puts prefix before err's message, keeping its type. (Wrapping
// an *Error with fmt.Errorf would lose the prefix in WithOp.)
func prefix(prefix string, err error) error {
	var e *tools.Error
	if errors.As(err, &e) {
		return &tools.Error{Type: e.Type, Err: fmt.Errorf("%s: %w", prefix, e.Err)}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// statusError is the error of a response whose status is not 2xx.
func statusError(pg *page) error {
	if pg.status >= 200 && pg.status < 300 {
		return nil
	}
	return tools.Failed("fetch %s: server answered %d %s", pg.url.Redacted(), pg.status, http.StatusText(pg.status))
}

// isHTML reports whether the page is HTML: by its content type, or by
// sniffing when it has none.
func isHTML(pg *page) bool {
	switch pg.ctype {
	case "text/html", "application/xhtml+xml":
		return true
	case "":
		return strings.HasPrefix(http.DetectContentType(pg.body), "text/html")
	}
	return false
}

// isText reports whether the page is text of some kind (HTML, XML, JSON,
// plain text, scripts and styles).
func isText(pg *page) bool {
	t := pg.ctype
	if t == "" {
		t, _, _ = strings.Cut(http.DetectContentType(pg.body), ";")
	}
	return strings.HasPrefix(t, "text/") || strings.HasSuffix(t, "+xml") || strings.HasSuffix(t, "+json") ||
		t == "application/xml" || t == "application/json" || t == "application/javascript" ||
		t == "application/ecmascript" || t == "application/x-ndjson"
}

// toUTF8 returns the body as UTF-8: ISO-8859-1 and windows-1252 (by the
// Content-Type charset) are converted, anything else is taken as UTF-8
// with invalid sequences replaced by U+FFFD.
func toUTF8(body []byte, charset string) []byte {
	switch charset {
	case "iso-8859-1", "latin1", "iso8859-1", "l1", "windows-1252", "cp1252", "us-ascii", "ascii":
		return latin1(body, charset == "windows-1252" || charset == "cp1252")
	}
	if utf8.Valid(body) {
		return body
	}
	return bytes.ToValidUTF8(body, []byte("\uFFFD"))
}

// cp1252High maps windows-1252 bytes 0x80-0x9F to runes (0 = unassigned,
// kept as the C1 control of the same value).
var cp1252High = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

func latin1(body []byte, cp1252 bool) []byte {
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
		case cp1252 && c < 0xA0 && cp1252High[c-0x80] != 0:
			out = utf8.AppendRune(out, cp1252High[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out
}

// parseHTML parses a UTF-8 HTML body. Pages nested deeper than the
// parser's 512 open elements fail.
func parseHTML(ctx context.Context, pg *page) (*html.Node, error) {
	charset := pg.charset
	if charset == "" {
		charset = metaCharset(pg.body)
	}
	doc, err := html.Parse(bytes.NewReader(toUTF8(pg.body, charset)))
	if err != nil {
		return nil, tools.Failed("parse HTML of %s: %v", pg.url.Redacted(), err)
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return doc, nil
}

// metaCharset finds the charset a page declares in its first 1024
// bytes, <meta charset="x"> or <meta http-equiv="Content-Type"
// content="text/html; charset=x">, lowercase; "" when none.
func metaCharset(body []byte) string {
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
	textFlat  = iota // one line, runs of white space collapsed to one space
	textLines        // a line per block, white space collapsed within lines, blank lines dropped
	textRaw          // text as written, a newline at block boundaries
)

// skippedElements are elements whose content is not visible text. They are
// skipped below the element the extraction starts at, so selecting a
// script element still yields its text.
var skippedElements = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "head": true,
	"iframe": true, "object": true, "embed": true, "canvas": true,
}

// blocks are elements that start a new line (textLines, textRaw) or at least
// separate words (textFlat).
var blocks = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "body": true, "br": true,
	"caption": true, "dd": true, "details": true, "dialog": true, "div": true, "dl": true, "dt": true,
	"fieldset": true, "figcaption": true, "figure": true, "footer": true, "form": true, "h1": true,
	"h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hgroup": true,
	"hr": true, "html": true, "legend": true, "li": true, "main": true, "menu": true, "nav": true,
	"ol": true, "option": true, "p": true, "pre": true, "section": true, "summary": true,
	"table": true, "tbody": true, "tfoot": true, "thead": true, "title": true, "tr": true, "ul": true,
}

// cells separate words but do not break lines.
var cells = map[string]bool{"td": true, "th": true}

// textWriter accumulates text, collapsing white space by mode, up to max bytes.
type textWriter struct {
	b         []byte
	max       int
	mode      int
	pendSpace bool
	pendLine  bool
	pre       int // depth inside <pre>
	full      bool
}

// space marks a word boundary.
func (t *textWriter) space() {
	if len(t.b) > 0 {
		t.pendSpace = true
	}
}

// line marks a line boundary.
func (t *textWriter) line() {
	switch t.mode {
	case textFlat:
		t.space()
	case textLines:
		if len(t.b) > 0 {
			t.pendLine = true
		}
	case textRaw:
		if len(t.b) > 0 && t.b[len(t.b)-1] != '\n' {
			t.put("\n")
		}
	}
}

// put appends s unchanged, within the cap.
func (t *textWriter) put(s string) {
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
func (t *textWriter) text(s string) {
	if t.full {
		return
	}
	if t.mode == textRaw {
		t.put(s)
		return
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				if c == '\n' && t.pre > 0 && t.mode == textLines {
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
func (t *textWriter) flush() {
	if t.pendLine {
		t.b = append(t.b, '\n')
	} else if t.pendSpace {
		t.b = append(t.b, ' ')
	}
	t.pendLine, t.pendSpace = false, false
}

// node appends the text below n (n included). Depth is bounded by the
// HTML parser's nesting limit.
func (t *textWriter) node(n *html.Node, top bool) {
	if t.full {
		return
	}
	switch n.Type {
	case html.TextNode:
		t.text(n.Data)
		return
	case html.ElementNode:
		if !top && skippedElements[n.Data] && n.Namespace == "" {
			return
		}
	case html.DocumentNode:
	default:
		return
	}
	block, cell := blocks[n.Data], cells[n.Data]
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

// nodeText returns the text below n by mode, at most max bytes, and
// whether it was cut.
func nodeText(n *html.Node, mode, max int) (string, bool) {
	t := textWriter{mode: mode, max: max}
	t.node(n, true)
	return string(t.b), t.full
}

// attr returns n's attribute key (lowercase) and whether it is present.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

//END
