package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"

	"spellhost/tools"
	"spellhost/tools/internal/clip"
	"spellhost/tools/perm"
)

// Fetching pages for web-scraper, webpage-monitor and sitemap-crawler,
// through the one client in client.go, and reading them as text.

// maxShort caps a title, a link's text or a meta value (bytes).
const maxShort = 4 << 10

// deadline bounds ctx by timeout, with a cause that says which limit
// fired. A sooner deadline of ctx keeps its own cause.
func deadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, timeout,
		tools.Errorf(tools.TypeTimeout, "timed out after %v (timeout_ms, or the host's HTTP timeout)", timeout))
}

// page is a fetched response.
type page struct {
	url         *url.URL // final URL, after redirects
	status      int
	ctype       string // media type, lowercase, without parameters; "" when absent
	contentType string // the Content-Type header as sent
	header      http.Header
	body        []byte
}

// fetch gets u with GET through ps, one attempt bounded by ctx (see
// deadline), reading at most the response limit: a larger body is a
// too_large error. The status is not checked.
func fetch(ctx context.Context, ps *perm.Set, u *url.URL, accept string) (*page, error) {
	r := newGet(u)
	if accept != "" {
		r.header["Accept"] = []string{accept}
	}
	rep, err := exchange(ctx, ps, r, policy{attempts: 1, limit: responseLimit(ps)})
	if err != nil {
		return nil, err
	}
	pg := &page{status: rep.status, header: rep.header, body: rep.body, contentType: rep.header.Get("Content-Type")}
	pg.url = rep.url
	if ct := pg.contentType; ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt, _, _ = strings.Cut(ct, ";")
		}
		pg.ctype = strings.ToLower(strings.TrimSpace(mt))
	}
	return pg, nil
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

// toUTF8 returns body as UTF-8. The encoding is the one a byte order mark
// or the Content-Type charset names, else, for HTML, the one a <meta> in
// the first 1024 bytes declares: any encoding of the WHATWG Encoding
// Standard, by its labels (so iso-8859-1 reads as windows-1252, as in
// browsers; the five bytes windows-1252 leaves undefined become U+FFFD).
// Without a known declaration the body is taken as UTF-8, invalid
// sequences replaced by U+FFFD.
func toUTF8(body []byte, contentType string, htmlMeta bool) []byte {
	if e, _, certain := charset.DetermineEncoding(body, contentType); certain {
		return decodeWith(e, body)
	}
	if htmlMeta {
		if label := metaCharset(body); label != "" {
			if e, _ := charset.Lookup(label); e != nil {
				return decodeWith(e, body)
			}
		}
	}
	if utf8.Valid(body) {
		return body
	}
	return bytes.ToValidUTF8(body, []byte("\uFFFD"))
}

// decodeWith decodes body from e; what cannot be decoded becomes U+FFFD.
func decodeWith(e encoding.Encoding, body []byte) []byte {
	if e == encoding.Nop {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	out, err := e.NewDecoder().Bytes(body)
	if err != nil {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

// decodeReader decodes r from the encoding named by label (an XML
// declaration's), for the XML decoder.
func decodeReader(label string, r io.Reader) (io.Reader, error) {
	e, _ := charset.Lookup(label)
	if e == nil {
		return nil, fmt.Errorf("unsupported encoding %q", clip.String(label, 64))
	}
	return e.NewDecoder().Reader(r), nil
}

// parseHTML parses an HTML page, decoded to UTF-8. Pages nested deeper
// than the parser's 512 open elements fail.
func parseHTML(ctx context.Context, pg *page) (*html.Node, error) {
	doc, err := html.Parse(bytes.NewReader(toUTF8(pg.body, pg.contentType, true)))
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
