package vuhttp

import (
	"bytes"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Request is one HTTP request. The zero value of every field but URL has a
// meaning, so a script's params map onto it field by field. A Request is
// only read by Do: it may be reused for the next request.
type Request struct {
	// Method is the HTTP method (default GET).
	Method string
	// URL is an absolute http or https URL. Credentials in it
	// (http://user:pass@host/) authenticate the request, as Auth says.
	URL string
	// Header holds extra request headers (nil: none). Host replaces the
	// Host header; Content-Length and Transfer-Encoding are ignored (the
	// engine frames the body); Accept-Encoding and User-Agent replace the
	// defaults; "Connection: close" closes the connection afterwards.
	Header http.Header
	// Body is sent as is. POST, PUT and PATCH send Content-Length: 0
	// without one.
	Body []byte
	// Timeout bounds the whole request, redirects included (0:
	// Config.Timeout).
	Timeout time.Duration
	// Redirects is how many redirects to follow: 0 takes
	// Config.MaxRedirects, NoRedirects follows none. When they run out, the
	// last redirect response is the response, without an error.
	Redirects int
	// Auth is how URL credentials are sent: AuthBasic (the default when the
	// URL has them) or AuthDigest (after the server's 401 challenge).
	Auth Auth
	// ResponseType is what becomes of the body (default
	// Config.ResponseType, which defaults to BodyText).
	ResponseType ResponseType
	// ExpectedStatuses are the statuses that count as success (nil:
	// Config.ExpectedStatuses).
	ExpectedStatuses []StatusRange
	// Name is the name tag that groups dynamic URLs ("/users/{id}"; empty:
	// the URL).
	Name string
	// Cookies are sent with this request only, beside the jar's; one with
	// Replace set hides the jar's cookies of its name.
	Cookies []Cookie
}

// NoRedirects as Request.Redirects follows no redirect.
const NoRedirects = -1

// Auth is a way of sending URL credentials.
type Auth uint8

// The ways of sending URL credentials.
const (
	AuthBasic Auth = iota
	AuthDigest
)

// ParseAuth reads a script's auth param: "basic" or "digest".
func ParseAuth(s string) (Auth, bool) {
	switch strings.ToLower(s) {
	case "", "basic":
		return AuthBasic, true
	case "digest":
		return AuthDigest, true
	}
	return 0, false
}

// ResponseType is what becomes of a response body.
type ResponseType uint8

// The response types. BodyDefault takes Config.ResponseType.
const (
	BodyDefault ResponseType = iota
	// BodyText and BodyBinary keep the (decompressed) body in
	// Response.Body; they differ only in how a script sees it.
	BodyText
	BodyBinary
	// BodyNone reads the body to the end and discards it, without
	// decompressing it or keeping it in memory (nor counting it against the
	// response limit).
	BodyNone
)

// ParseResponseType reads a script's responseType param.
func ParseResponseType(s string) (ResponseType, bool) {
	switch s {
	case "text":
		return BodyText, true
	case "binary":
		return BodyBinary, true
	case "none":
		return BodyNone, true
	}
	return 0, false
}

// StatusRange is an inclusive range of statuses ({200, 299}; {404, 404}).
type StatusRange struct{ Min, Max int }

// DefaultExpected is the success range when nothing else is said.
var DefaultExpected = []StatusRange{{200, 399}}

func expected(ranges []StatusRange, status int) bool {
	for _, r := range ranges {
		if status >= r.Min && status <= r.Max {
			return true
		}
	}
	return false
}

// Cookie is a request cookie.
type Cookie struct {
	Name, Value string
	// Replace hides the jar's cookies of the same name for this request.
	Replace bool
}

// Timings are the phases of one request, as a load test reports them.
// Sending + Waiting + Receiving is Duration, exactly; every phase is
// non-negative.
type Timings struct {
	// Blocked is the wait for a connection: a free one, or a new one's
	// turn. The lookup of an allowed host name is part of Connecting.
	Blocked time.Duration
	// Connecting is the TCP connect of a new connection (0 on a reused one).
	Connecting time.Duration
	// TLSHandshaking is the TLS handshake of a new connection.
	TLSHandshaking time.Duration
	// Sending is the write of the request.
	Sending time.Duration
	// Waiting is from the end of the write to the response's first byte
	// (the server's time, plus the network's). An injected delay is counted
	// here, as a slow server's would be.
	Waiting time.Duration
	// Receiving is from the first byte to the end of the body.
	Receiving time.Duration
	// Duration is Sending + Waiting + Receiving.
	Duration time.Duration
}

// Exchange is one request and the response to it, as a metric records it.
// A Response is one; the redirects and authentication challenges before it
// are others (Response.Hops).
type Exchange struct {
	Method string
	// URL is the request's URL, with any password replaced by "xxxxx".
	URL string
	// Name is the name tag: Request.Name, or URL.
	Name string
	// Status is 0 when no response came.
	Status int
	// Proto is "HTTP/1.1", "HTTP/1.0" or "HTTP/2.0" ("" without a response).
	Proto   string
	Timings Timings
	// ErrorCode is the failure's code (see the Code constants), or 1000 +
	// Status for a status from 400, or 0.
	ErrorCode int
	// Expected is whether Status is one of the expected statuses (false on
	// a failure).
	Expected bool
	// BytesSent and BytesReceived are what the connection moved for this
	// exchange, TLS and framing included; a new connection's handshake
	// counts with its first exchange. Over HTTP/2, concurrent exchanges on
	// one connection each count all it moved while they were in flight;
	// Client.Traffic has the exact totals.
	BytesSent, BytesReceived int64
	// Peer is the connection's remote address and port (zero without a
	// connection).
	Peer netip.AddrPort
	// TLSVersion ("tls1.2", "tls1.3") and TLSCipherSuite are the
	// connection's, for https ("" otherwise).
	TLSVersion, TLSCipherSuite string
}

// Response is the outcome of Do. Reuse one across calls: its Body, header
// storage and Hops keep their memory, and Do overwrites them, so copy what
// must outlive the next call.
type Response struct {
	Exchange
	// Err is nil, or an *Error with the ErrorCode.
	Err error
	// Body is the body for BodyText and BodyBinary (decompressed from gzip
	// or deflate); nil for BodyNone, and may be nil when the body is empty.
	Body []byte
	// BodySize is the length of the body read: decompressed for text and
	// binary, as sent for none.
	BodySize int64
	// Injected says a fault rule decided the outcome.
	Injected bool
	// Hops are the exchanges before this one (redirects followed, digest
	// challenges answered), in order.
	Hops []Exchange

	buf    []byte // the memory Body is read into, kept across calls
	raw    []byte // HTTP/1 header fields, name and value bytes back to back
	fields []field
	header http.Header // built on demand from raw, or HTTP/2's
	rawH2  http.Header
}

// field locates one header in Response.raw.
type field struct{ ns, ne, vs, ve uint32 }

func (r *Response) reset() {
	buf, hops, raw, fields := r.buf[:0], r.Hops[:0], r.raw[:0], r.fields[:0]
	*r = Response{buf: buf, Hops: hops, raw: raw, fields: fields}
}

// resetHeaders forgets the headers of a response (a 1xx, or a hop).
func (r *Response) resetHeaders() {
	r.raw, r.fields, r.header, r.rawH2 = r.raw[:0], r.fields[:0], nil, nil
}

// Header returns the response headers, built on first use (a response
// whose headers are never asked for builds no map).
func (r *Response) Header() http.Header {
	if r.header != nil {
		return r.header
	}
	if r.rawH2 != nil {
		r.header = r.rawH2
		return r.header
	}
	h := make(http.Header, len(r.fields))
	for _, f := range r.fields {
		k := http.CanonicalHeaderKey(string(r.raw[f.ns:f.ne]))
		h[k] = append(h[k], string(r.raw[f.vs:f.ve]))
	}
	r.header = h
	return h
}

// HeaderValue returns the first value of the header name (any case), or "".
func (r *Response) HeaderValue(name string) string {
	if r.header != nil || r.rawH2 != nil {
		return r.Header().Get(name)
	}
	if v, ok := r.lookup(name); ok {
		return string(v)
	}
	return ""
}

// lookup finds a header's first value in raw without allocating.
func (r *Response) lookup(name string) ([]byte, bool) {
	for _, f := range r.fields {
		if equalFold(r.raw[f.ns:f.ne], name) {
			return r.raw[f.vs:f.ve], true
		}
	}
	return nil, false
}

// each calls fn with every value of the header name (any case).
func (r *Response) each(name string, fn func(v string)) {
	if r.rawH2 != nil {
		for _, v := range r.rawH2.Values(name) {
			fn(v)
		}
		return
	}
	for _, f := range r.fields {
		if equalFold(r.raw[f.ns:f.ne], name) {
			fn(string(r.raw[f.vs:f.ve]))
		}
	}
}

// equalFold compares ASCII case-insensitively, as header names are.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasToken reports whether a comma-separated header value holds token (any
// case), as "Connection: keep-alive, Upgrade" holds "upgrade".
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var part []byte
		part, v, _ = bytes.Cut(v, []byte{','})
		if equalFold(bytes.TrimSpace(part), token) {
			return true
		}
	}
	return false
}
