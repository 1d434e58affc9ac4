package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// The one HTTP client of the web tools: the URL check, the timeout
// parameter, the request (headers, body, auth), the retry loop with the
// caller's-deadline rule, the capped body reader, the error classifier
// and the User-Agent. Every request goes through the permission set's
// HTTP client, which judges each dial (redirects included) before any
// lookup, and http.NewRequestWithContext, so the caller's deadline bounds
// all I/O.

// Limits of the network tools' inputs.
const (
	maxURLLen      = 64 << 10 // bytes of a URL parameter
	maxHeaders     = 100      // request headers given by the caller
	maxHeaderBytes = 64 << 10 // bytes of request header names and values, together
	maxRequestBody = 16 << 20 // bytes of a request body
	maxTimeoutMS   = 600_000  // timeout_ms upper bound (10 minutes)
	maxBackoffMS   = 5_000    // backoff_ms upper bound (= backoffCap)
	maxAttempts    = 10       // attempts or retries upper bound
	backoffCap     = 5 * time.Second
	defaultTimeout = 30 * time.Second
	drainBytes     = 4 << 10 // bytes read from a discarded reply so its connection can be reused
)

// userAgent is the User-Agent of every request the web tools send,
// unless the caller's headers set another.
const userAgent = "spellhost/1"

// methods are the methods http_request and api-tester accept.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// clientHeaders are computed by the HTTP client; a caller may not set them.
var clientHeaders = map[string]bool{
	"Content-Length": true, "Transfer-Encoding": true, "Trailer": true, "Connection": true,
	"Te": true, "Upgrade": true, "Keep-Alive": true, "Proxy-Connection": true,
}

// Descriptions shared by the network tools' specs.
const (
	urlDoc = "the http or https URL to call; the host must be allowed by --allow-net (without the flag, loopback only); " +
		"at most 64 KiB"
	headersDoc = "request headers, {name: value}; values are strings (numbers and booleans are converted); " +
		"at most 100 headers and 64 KiB together; Content-Length, Transfer-Encoding, Connection and other " +
		"hop-by-hop headers are set by the client and refused here; Host overrides the Host header"
	bodyDoc = "request body: a string is sent as is (no Content-Type unless headers set one); an object, array, " +
		"number or boolean is sent as JSON with Content-Type application/json (unless headers set one); at most 16 MiB"
	authDoc = "authentication, an object: {type: \"basic\", username, password} sets Authorization: Basic; " +
		"{type: \"bearer\", token} sets Authorization: Bearer; {type: \"api_key\", token, header} sets the header " +
		"(default X-API-Key) to the token. It overrides the same header in headers"
	bodyLimitDoc = "Response bodies are capped at the response limit (--max-response-size, 16 MiB by default)"
)

// timeoutParam declares the timeout_ms parameter; what says what it
// bounds.
func timeoutParam(what string) tools.Param {
	return tools.Param{Name: "timeout_ms", Type: tools.Integer, Description: fmt.Sprintf(
		"timeout of %s in milliseconds, 1-%d; defaults to the host's HTTP timeout (30 s unless configured); "+
			"the caller's deadline, when sooner, wins", what, maxTimeoutMS)}
}

// parseTimeout returns the timeout_ms parameter, or def.
func parseTimeout(p tools.Params, def time.Duration) (time.Duration, error) {
	if !p.Has("timeout_ms") {
		if def <= 0 {
			def = defaultTimeout
		}
		return def, nil
	}
	n := p.Int("timeout_ms")
	if n < 1 || n > maxTimeoutMS {
		return 0, tools.Invalid("parameter %q: %d is out of range 1-%d", "timeout_ms", n, maxTimeoutMS)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// intIn converts a JSON-like number to an int in [lo, hi].
func intIn(v any, lo, hi int) (int, bool) {
	f, ok := tools.ToFloat(v)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int(f), true
}

// statuses reads an HTTP status or a list of them; where names the
// parameter in messages, e.g. `parameter "expect_status"`.
func statuses(where string, v any) ([]int, error) {
	if _, ok := tools.ToFloat(v); ok {
		n, ok := intIn(v, 100, 599)
		if !ok {
			return nil, tools.Invalid("%s: %v is not an HTTP status (an integer in 100-599)", where, v)
		}
		return []int{n}, nil
	}
	var l []any
	switch x := v.(type) {
	case []any:
		l = x
	case map[string]any:
		if len(x) != 0 {
			return nil, tools.Invalid("%s: expected a status or a list of statuses, got object", where)
		}
	default:
		return nil, tools.Invalid("%s: expected a status or a list of statuses, got %s", where, tools.KindOf(v))
	}
	if len(l) > 500 {
		return nil, tools.Errorf(tools.TypeTooLarge, "%s: %d statuses exceed the limit of 500", where, len(l))
	}
	out := make([]int, 0, len(l))
	for i, item := range l {
		n, ok := intIn(item, 100, 599)
		if !ok {
			return nil, tools.Invalid("%s: item %d: %v is not an HTTP status (an integer in 100-599)", where, i+1, item)
		}
		out = append(out, n)
	}
	return out, nil
}

// intList converts statuses to a result list.
func intList(l []int) []any {
	out := make([]any, len(l))
	for i, n := range l {
		out[i] = n
	}
	return out
}

// responseLimit is the permission set's cap on a response body.
func responseLimit(ps *perm.Set) int64 {
	if ps == nil {
		return 0
	}
	return ps.Limits().MaxResponseBytes
}

// httpClient returns the permission set's HTTP client, or a permission error
// when there is none.
func httpClient(ps *perm.Set, timeout time.Duration, r *request) (*http.Client, error) {
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "%s: network access is not configured; allow hosts with --allow-net", r.what())
	}
	return ps.HTTPClient(timeout), nil
}

// netError classifies a failed exchange: permission errors and the
// caller's deadline or cancellation keep their types, an attempt's own
// timeout is a timeout, anything else (refused, unreachable, reset) an
// execution error carrying the cause.
func netError(ctx context.Context, what string, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var te *tools.Error
	switch {
	case errors.As(err, &te):
		return &tools.Error{Type: te.Type, Err: fmt.Errorf("%s: %w", what, te.Err)}
	case refused(err):
		return fmt.Errorf("%s: %w", what, err)
	case ctx.Err() != nil:
		// The caller's deadline or cancellation, with its cause: a limit
		// such as timeout_ms says which one fired.
		if errors.As(context.Cause(ctx), &te) {
			return &tools.Error{Type: te.Type, Err: fmt.Errorf("%s: %w", what, te.Err)}
		}
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case isTimeout(err):
		return tools.Errorf(tools.TypeTimeout, "%s: no complete reply within the %v timeout", what, timeout)
	}
	return tools.Failed("%s: %v", what, err)
}

// refused reports whether the network permissions refused a connection:
// a host they do not allow (permission_denied) or one they cannot judge,
// such as a name that reads as a number (validation_error).
func refused(err error) bool {
	return errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// retryableErr reports whether a failed attempt may be retried: a
// connection failure or an attempt's timeout, not a refusal by the sandbox
// nor the caller's deadline.
func retryableErr(ctx context.Context, err error) bool {
	if ctx.Err() != nil || refused(err) {
		return false
	}
	var te *tools.Error
	return !errors.As(err, &te) || te.Type == tools.TypeExecution || te.Type == tools.TypeTimeout
}

// readBody reads a reply body up to limit bytes. Over the limit it
// returns a too_large error, or with truncate the first limit bytes and
// true.
func readBody(resp *http.Response, limit int64, truncate bool, what string) ([]byte, bool, error) {
	if resp.ContentLength > limit && !truncate {
		return nil, false, tools.Errorf(tools.TypeTooLarge, "%s: response body of %d bytes exceeds the %d-byte response limit", what, resp.ContentLength, limit)
	}
	size := resp.ContentLength
	if size > limit {
		size = -1
	}
	buf, err := readCapped(resp.Body, limit, size)
	switch {
	case err == errTooLarge && truncate:
		return buf[:limit], true, nil
	case err == errTooLarge:
		return nil, false, tools.Errorf(tools.TypeTooLarge, "%s: response body exceeds the %d-byte response limit", what, limit)
	case err != nil:
		return nil, false, err
	}
	return buf, false, nil
}

// errTooLarge is readCapped's answer past its limit.
var errTooLarge = errors.New("over the size limit")

// readCapped reads r to the end, or up to limit+1 bytes: past limit it
// returns what it read with errTooLarge. size, when known (>= 0), sizes
// the buffer.
func readCapped(r io.Reader, limit, size int64) ([]byte, error) {
	c := int64(512)
	if size >= 0 {
		c = min(size, limit) + 1
	}
	var buf bytes.Buffer
	buf.Grow(int(c))
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return buf.Bytes(), errTooLarge
	}
	return buf.Bytes(), nil
}

// httpReply is the outcome of an exchange.
type httpReply struct {
	url       *url.URL // final, after redirects
	status    int
	header    http.Header
	body      []byte
	truncated bool
	finalURL  string
	attempts  int
	duration  time.Duration
}

// policy says how to run an exchange.
type policy struct {
	timeout     time.Duration // per attempt
	limit       int64         // response body cap
	truncate    bool          // truncate an over-limit body instead of failing
	attempts    int           // at most this many (>= 1)
	backoff     time.Duration // base delay, doubled after every attempt, capped at backoffCap
	retryStatus func(int) bool
	retryAfter  bool // honour a Retry-After header (capped at backoffCap)
	redirects   int  // 0: follow; 1: follow only those that keep the method; 2: never
}

// Redirect policies.
const (
	follow = iota
	followSameMethod
	noFollow
)

// exchange runs r, retrying as pol says. A reply with any status is a
// result; the error is a network, permission, size or context failure.
func exchange(ctx context.Context, ps *perm.Set, r *request, pol policy) (*httpReply, error) {
	client, err := httpClient(ps, pol.timeout, r)
	if err != nil {
		return nil, err
	}
	switch pol.redirects {
	case followSameMethod:
		check := client.CheckRedirect
		client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.Method != via[0].Method {
				return http.ErrUseLastResponse
			}
			return check(req, via)
		}
	case noFollow:
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if pol.attempts < 1 {
		pol.attempts = 1
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		what := r.what()
		if pol.attempts > 1 {
			what += fmt.Sprintf(" (attempt %d of %d)", attempt, pol.attempts)
		}
		req, err := r.build(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			err = netError(ctx, what, pol.timeout, err)
			delay := httpBackoff(pol.backoff, attempt)
			if attempt >= pol.attempts || !retryableErr(ctx, err) || !hasTime(ctx, delay) {
				return nil, err
			}
			if err := sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("%s: waiting to retry: %w", r.what(), err)
			}
			continue
		}
		if attempt < pol.attempts && pol.retryStatus != nil && pol.retryStatus(resp.StatusCode) {
			delay := httpBackoff(pol.backoff, attempt)
			if pol.retryAfter {
				delay = max(delay, retryAfter(resp.Header))
			}
			if hasTime(ctx, delay) {
				io.CopyN(io.Discard, resp.Body, drainBytes)
				resp.Body.Close()
				if err := sleep(ctx, delay); err != nil {
					return nil, fmt.Errorf("%s: waiting to retry: %w", r.what(), err)
				}
				continue
			}
			// No time left for another attempt: this reply is the result.
		}
		body, trunc, err := readBody(resp, pol.limit, pol.truncate, what)
		resp.Body.Close()
		if err != nil {
			if tools.TypeOf(err) == tools.TypeTooLarge {
				return nil, err
			}
			err = netError(ctx, what+": reading the reply", pol.timeout, err)
			delay := httpBackoff(pol.backoff, attempt)
			if attempt >= pol.attempts || !retryableErr(ctx, err) || !hasTime(ctx, delay) {
				return nil, err
			}
			if err := sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("%s: waiting to retry: %w", r.what(), err)
			}
			continue
		}
		return &httpReply{
			status: resp.StatusCode, header: resp.Header, body: body, truncated: trunc,
			url: resp.Request.URL, finalURL: resp.Request.URL.Redacted(), attempts: attempt, duration: time.Since(start),
		}, nil
	}
}

// hasTime reports whether ctx's deadline, if any, leaves more than d.
func hasTime(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// httpBackoff is base doubled attempt-1 times, capped at backoffCap.
func httpBackoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < backoffCap; i++ {
		d *= 2
	}
	return min(d, backoffCap)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at backoffCap; 0 when absent or unparsable.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(min(n, 3600))*time.Second, backoffCap)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), backoffCap)
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// headerMap converts reply headers to {lowercased name: values joined by ", "}.
func headerMap(h http.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, vs := range h {
		v := ""
		if len(vs) == 1 {
			v = vs[0]
		} else {
			v = strings.Join(vs, ", ")
		}
		m[strings.ToLower(k)] = v
	}
	return m
}

// bodyText returns a body as a string when it is UTF-8, else as base64,
// with the encoding's name.
func bodyText(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// trimSplitRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimSplitRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// isJSONType reports whether a Content-Type is JSON (application/json or
// a +json type).
func isJSONType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/json") ||
		len(ct) > 5 && strings.EqualFold(ct[len(ct)-5:], "+json") && strings.IndexByte(ct, '/') > 0
}

// parseJSON decodes a JSON body into JSON-like values.
func parseJSON(b []byte) (any, bool) {
	var v any
	if err := json.Unmarshal(b, &v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
		return nil, false
	}
	return v, true
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const n = 200
	s := b
	if len(s) > n {
		s = s[:n]
	}
	out := strings.ToValidUTF8(strings.Join(strings.Fields(string(s)), " "), "?")
	if len(b) > n {
		out += "..."
	}
	return out
}

// millis converts a duration to milliseconds with microsecond precision.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkKeys checks that m has only keys from known.
func checkKeys(param string, m map[string]any, known ...string) error {
	for k := range m {
		if !slices.Contains(known, k) {
			return tools.Invalid("parameter %q: unknown field %q; known: %s", param, k, strings.Join(known, ", "))
		}
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v holds no control character other
// than a horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Config is what the web tools need from the host. A nil Perm refuses
// every connection.
type Config struct {
	// Perm decides which hosts the tools reach, through its dialer.
	Perm *perm.Set
	// SearchEndpoint is the web_search backend (a SearXNG-style JSON
	// endpoint); empty means web_search answers that none is configured.
	SearchEndpoint string
	// HTTPTimeout is the default timeout of the tools (default 30s); the
	// caller's context deadline, when sooner, wins.
	HTTPTimeout time.Duration
}
