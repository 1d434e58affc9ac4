package vuhttp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// HTTP/1.1, spoken on the caller's goroutine: the request is written in
// one write, the response parsed straight from the connection's buffer
// into the Response's reused storage.

// Bounds on what a server may send before the body.
const (
	maxHeaderBytes = 1 << 20 // a response's header block, or a chunked body's trailers
	max1xx         = 16      // informational responses before the final one
)

// hop is one request on the wire: the script's, a redirect's, or the
// answer to a digest challenge.
type hop struct {
	t      *target
	method string
	body   []byte
	sh     scriptHeaders
	// crossHost is set once a redirect left the first request's host:
	// Authorization and Cookie headers of the script stay behind.
	crossHost bool
	authz     string // Authorization, when the script sets none
	cookies   []Cookie
}

func sendsLength(method string, body []byte) bool {
	return len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH"
}

// writeRequest writes h's request on cn in one write (two for a body over
// 64 KiB).
func (c *Client) writeRequest(cn *conn, h *hop) error {
	b := append(cn.buf[:0], h.method...)
	b = append(b, ' ')
	b = append(b, h.t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if h.sh.host != "" {
		b = append(b, h.sh.host...)
	} else {
		b = append(b, h.t.hostHdr...)
	}
	b = append(b, "\r\n"...)
	for k, vs := range h.sh.h {
		if skipHeader(k, h.crossHost) {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if !h.sh.ua {
		b = append(b, c.uaLine...)
	}
	if !h.sh.ae {
		b = append(b, "Accept-Encoding: gzip, deflate\r\n"...)
	}
	if h.authz != "" && (!h.sh.authz || h.crossHost) {
		b = append(b, "Authorization: "...)
		b = append(b, h.authz...)
		b = append(b, "\r\n"...)
	}
	var userCookie []string
	if !h.crossHost {
		userCookie = h.sh.cookie
	}
	b = c.appendCookies(b, h, userCookie)
	if sendsLength(h.method, h.body) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(h.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	const inline = 64 << 10
	if len(h.body) <= inline {
		b = append(b, h.body...)
	}
	_, err := cn.nc.Write(b)
	if err == nil && len(h.body) > inline {
		_, err = cn.nc.Write(h.body)
	}
	if cap(b) > inline {
		b = nil // keep no large buffer per connection
	}
	cn.buf = b
	return err
}

// appendCookies writes the Cookie header: the script's, the jar's (less
// those a request cookie replaces) and the request's.
func (c *Client) appendCookies(b []byte, h *hop, user []string) []byte {
	var jar []*http.Cookie
	if c.jarUsed.Load() {
		jar = c.jar.Load().Cookies(h.t.u)
	}
	if len(jar) == 0 && len(h.cookies) == 0 && len(user) == 0 {
		return b
	}
	b = append(b, "Cookie: "...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, "; "...)
		}
		n++
	}
	for _, v := range user {
		sep()
		b = append(b, v...)
	}
	for _, ck := range jar {
		if replaced(h.cookies, ck.Name) {
			continue
		}
		sep()
		b = appendCookie(b, ck.Name, ck.Value)
	}
	for _, ck := range h.cookies {
		sep()
		b = appendCookie(b, ck.Name, ck.Value)
	}
	return append(b, "\r\n"...)
}

func replaced(cs []Cookie, name string) bool {
	for _, ck := range cs {
		if ck.Replace && ck.Name == name {
			return true
		}
	}
	return false
}

// appendCookie writes name=value, quoting a value with a space or comma.
func appendCookie(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=')
	if strings.ContainsAny(value, " ,") {
		b = append(b, '"')
		b = append(b, value...)
		return append(b, '"')
	}
	return append(b, value...)
}

// head is what the status line and headers say about the body.
type head struct {
	length    int64 // -1: not given
	chunked   bool
	untilEOF  bool // the body ends when the server closes
	closeConn bool
	noBody    bool
	setCookie bool
}

// readLine returns the next line of the response, up to maxHeaderBytes;
// it is valid until the next read.
func (cn *conn) readLine() ([]byte, error) {
	line, err := cn.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	buf := append(cn.buf[:0], line...)
	for {
		line, err = cn.br.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf) > maxHeaderBytes {
			return nil, fmt.Errorf("%w: a line over %d bytes", ErrMalformed, maxHeaderBytes)
		}
		if err != bufio.ErrBufferFull {
			cn.buf = buf
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// parseStatusLine reads "HTTP/1.1 200 OK".
func parseStatusLine(line []byte) (proto string, status int, err error) {
	l := trimEOL(line)
	if len(l) < 12 || (len(l) > 12 && l[12] != ' ') {
		return "", 0, malformed("status line %q", clip(l))
	}
	switch string(l[:9]) {
	case "HTTP/1.1 ":
		proto = "HTTP/1.1"
	case "HTTP/1.0 ":
		proto = "HTTP/1.0"
	default:
		return "", 0, malformed("status line %q", clip(l))
	}
	for _, d := range l[9:12] {
		if d < '0' || d > '9' {
			return "", 0, malformed("status line %q", clip(l))
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return "", 0, malformed("status %d", status)
	}
	return proto, status, nil
}

// clip shortens what a malformed response is quoted by.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// readHead reads the status line and headers into resp, skipping
// informational (1xx) responses.
func (c *Client) readHead(cn *conn, h *hop, resp *Response) (hd head, err error) {
	for n := 0; ; n++ {
		line, err := cn.readLine()
		if err != nil {
			return hd, err
		}
		resp.Proto, resp.Status, err = parseStatusLine(line)
		if err != nil {
			return hd, err
		}
		resp.resetHeaders()
		hd, err = readFields(cn, resp)
		if err != nil {
			return hd, err
		}
		if resp.Status >= 200 || resp.Status == http.StatusSwitchingProtocols {
			break
		}
		if n == max1xx {
			return hd, malformed("more than %d informational responses", max1xx)
		}
	}
	hd.noBody = h.method == "HEAD" || resp.Status == 204 || resp.Status == 304 || resp.Status < 200
	if resp.Status == http.StatusSwitchingProtocols {
		hd.closeConn = true // the engine speaks no other protocol on it
	}
	switch {
	case hd.noBody:
	case hd.chunked:
		hd.closeConn = hd.closeConn || hd.length >= 0 // both framings: trust neither after this
	case hd.untilEOF, hd.length < 0:
		hd.untilEOF, hd.closeConn = true, true
	}
	return hd, nil
}

// readFields reads header lines up to the blank line.
func readFields(cn *conn, resp *Response) (hd head, err error) {
	hd.length = -1
	keepAlive := false
	for {
		line, err := cn.readLine()
		if err != nil {
			return hd, err
		}
		l := trimEOL(line)
		if len(l) == 0 {
			break
		}
		if len(resp.raw)+len(l) > maxHeaderBytes {
			return hd, malformed("headers over %d bytes", maxHeaderBytes)
		}
		if l[0] == ' ' || l[0] == '\t' { // obsolete line folding: one value, joined by a space
			if len(resp.fields) == 0 {
				return hd, malformed("a folded line before any header")
			}
			if v := trimOWS(l); len(v) > 0 {
				resp.raw = append(resp.raw, ' ')
				resp.raw = append(resp.raw, v...)
				resp.fields[len(resp.fields)-1].ve = uint32(len(resp.raw))
			}
			continue
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !validToken(l[:colon]) {
			return hd, malformed("header line %q", clip(l))
		}
		name, value := l[:colon], trimOWS(l[colon+1:])
		f := field{ns: uint32(len(resp.raw))}
		resp.raw = append(resp.raw, name...)
		f.ne = uint32(len(resp.raw))
		f.vs = f.ne
		resp.raw = append(resp.raw, value...)
		f.ve = uint32(len(resp.raw))
		resp.fields = append(resp.fields, f)
		switch {
		case equalFold(name, "Content-Length"):
			n, ok := parseLength(value)
			if !ok || hd.length >= 0 && n != hd.length {
				return hd, malformed("Content-Length %q", clip(value))
			}
			hd.length = n
		case equalFold(name, "Transfer-Encoding"):
			if lastToken(value, "chunked") {
				hd.chunked = true
			} else {
				hd.untilEOF = true
			}
		case equalFold(name, "Connection"):
			hd.closeConn = hd.closeConn || hasToken(value, "close")
			keepAlive = keepAlive || hasToken(value, "keep-alive")
		case equalFold(name, "Set-Cookie"):
			hd.setCookie = true
		}
	}
	if resp.Proto == "HTTP/1.0" && !keepAlive {
		hd.closeConn = true
	}
	if hd.chunked && hd.untilEOF {
		hd.chunked = false // chunked is not the last coding
	}
	return hd, nil
}

// parseLength reads a Content-Length: digits, or a list of equal ones.
func parseLength(v []byte) (int64, bool) {
	n := int64(-1)
	for len(v) > 0 {
		var part []byte
		part, v, _ = bytes.Cut(v, []byte{','})
		part = trimOWS(part)
		if len(part) == 0 || len(part) > 18 {
			return 0, false
		}
		var x int64
		for _, d := range part {
			if d < '0' || d > '9' {
				return 0, false
			}
			x = x*10 + int64(d-'0')
		}
		if n >= 0 && x != n {
			return 0, false
		}
		n = x
	}
	return n, n >= 0
}

// lastToken reports whether the last element of a comma-separated list is
// token.
func lastToken(v []byte, token string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return equalFold(trimOWS(v), token)
}

func validToken(b []byte) bool {
	for _, c := range b {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return len(b) > 0
}

// validValue reports whether a header value holds no control character
// but tab.
func validValue(s string) bool { return httpguts.ValidHeaderFieldValue(s) }

// scriptHeaders are a script's request headers and what the engine must
// know of them, found once per request whatever the case of their names.
type scriptHeaders struct {
	h                     http.Header
	host                  string // the Host header, or ""
	ua, ae, authz         bool   // User-Agent, Accept-Encoding, Authorization are set
	cookie                []string
	closeConn, idempotent bool // Connection: close; an Idempotency-Key
}

// inspectHeaders checks a script's headers before anything is sent.
func inspectHeaders(h http.Header) (scriptHeaders, error) {
	sh := scriptHeaders{h: h}
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return sh, fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return sh, fmt.Errorf("invalid value for header %s: %q", k, v)
			}
		}
		switch {
		case strings.EqualFold(k, "Host"):
			if len(vs) > 0 {
				sh.host = vs[0]
			}
		case strings.EqualFold(k, "User-Agent"):
			sh.ua = true
		case strings.EqualFold(k, "Accept-Encoding"):
			sh.ae = true
		case strings.EqualFold(k, "Authorization"):
			sh.authz = true
		case strings.EqualFold(k, "Cookie"):
			sh.cookie = append(sh.cookie, vs...)
		case strings.EqualFold(k, "Connection"):
			for _, v := range vs {
				sh.closeConn = sh.closeConn || hasToken([]byte(v), "close")
			}
		case strings.EqualFold(k, "Idempotency-Key"), strings.EqualFold(k, "X-Idempotency-Key"):
			sh.idempotent = true
		}
	}
	return sh, nil
}

// skipHeader reports whether a script's header is not written as is: the
// engine frames the body and merges cookies, and a redirect to another
// host leaves credentials behind.
func skipHeader(k string, crossHost bool) bool {
	switch {
	case strings.EqualFold(k, "Host"), strings.EqualFold(k, "Content-Length"),
		strings.EqualFold(k, "Transfer-Encoding"), strings.EqualFold(k, "Cookie"):
		return true
	case crossHost:
		return strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Cookie2")
	}
	return false
}

// Body framing.
const (
	frameLength = iota
	frameChunked
	frameEOF
)

// body reads an HTTP/1 body off its connection, framing removed.
type body struct {
	cn      *conn
	frame   int
	left    int64 // bytes left: of the body (length) or of the chunk
	started bool  // a chunk was read: its CRLF comes next
	done    bool
}

func (b *body) Read(p []byte) (int, error) {
	br := b.cn.br
	switch b.frame {
	case frameEOF:
		return br.Read(p)
	case frameChunked:
		if b.done {
			return 0, io.EOF
		}
		if b.left == 0 {
			if err := b.nextChunk(); err != nil {
				return 0, err
			}
			if b.done {
				return 0, io.EOF
			}
		}
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextChunk reads the CRLF after a chunk and the next chunk's size line;
// after the last chunk it reads the trailers.
func (b *body) nextChunk() error {
	cn := b.cn
	if b.started {
		line, err := cn.readLine()
		if err != nil {
			return err
		}
		if len(trimEOL(line)) != 0 {
			return malformed("chunk data longer than its size")
		}
	}
	b.started = true
	line, err := cn.readLine()
	if err != nil {
		return err
	}
	l := trimEOL(line)
	if i := bytes.IndexByte(l, ';'); i >= 0 {
		l = l[:i]
	}
	l = trimOWS(l)
	if len(l) == 0 || len(l) > 15 {
		return malformed("chunk size %q", clip(trimEOL(line)))
	}
	var n int64
	for _, d := range l {
		var v byte
		switch {
		case d >= '0' && d <= '9':
			v = d - '0'
		case d >= 'a' && d <= 'f':
			v = d - 'a' + 10
		case d >= 'A' && d <= 'F':
			v = d - 'A' + 10
		default:
			return malformed("chunk size %q", clip(trimEOL(line)))
		}
		n = n<<4 | int64(v)
	}
	if n > 0 {
		b.left = n
		return nil
	}
	for total := 0; ; { // trailers, up to a blank line
		line, err := cn.readLine()
		if err != nil {
			return err
		}
		if len(trimEOL(line)) == 0 {
			b.done = true
			return nil
		}
		if total += len(line); total > maxHeaderBytes {
			return malformed("trailers over %d bytes", maxHeaderBytes)
		}
	}
}

// discard reads the body to its end.
func (b *body) discard() (int64, error) {
	if b.frame == frameLength {
		n, err := b.cn.br.Discard(int(min(b.left, 1<<62)))
		b.left -= int64(n)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return int64(n), err
	}
	return io.Copy(io.Discard, b)
}
