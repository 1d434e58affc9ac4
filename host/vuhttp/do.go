package vuhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpguts"

	"spellhost/host/fault"
)

// Do sends req and fills resp (reset first; its memory is reused). It
// never returns an error: a failure is resp.Err with resp.ErrorCode, as
// scripts see it. The end of ctx interrupts the request.
func (c *Client) Do(ctx context.Context, req *Request, resp *Response) {
	resp.reset()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	name := req.Name
	resp.Method, resp.URL, resp.Name = method, req.URL, name
	if name == "" {
		resp.Name = req.URL
	}
	ranges := req.ExpectedStatuses
	if ranges == nil {
		ranges = c.cfg.ExpectedStatuses
	}
	sh, err := c.check(req, method)
	if err != nil {
		c.fail(resp, err, false)
		return
	}
	t, err := c.target(req.URL)
	if err != nil {
		resp.URL = redactRaw(req.URL)
		if name == "" {
			resp.Name = resp.URL
		}
		c.fail(resp, err, false)
		return
	}
	resp.URL = t.shown
	if name == "" {
		resp.Name = t.shown
	}
	if err := ctx.Err(); err != nil {
		c.fail(resp, fmt.Errorf("request not sent: %w", context.Cause(ctx)), t.ipHost)
		return
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.cfg.Timeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var eff *fault.Effect
	if c.cfg.Faults.Active() {
		eff = c.cfg.Faults.EvalAny("http:"+method, "http:"+t.key.addr, "http:"+resp.Name)
	}
	var wait time.Duration // injected before the first exchange
	if eff != nil {
		var done bool
		if wait, done = c.injectBefore(ctx, eff, deadline, timeout, resp, ranges); done {
			return
		}
	}
	c.watch(ctx)
	p := plan{req: req, rt: req.ResponseType, deadline: deadline, timeout: timeout, limit: c.cfg.MaxResponseBytes}
	if p.rt == BodyDefault {
		p.rt = c.cfg.ResponseType
	}
	if d, ok := ctx.Deadline(); ok && d.Equal(deadline) {
		p.ctxDeadline = true
	}
	switch p.redirects = req.Redirects; {
	case p.redirects == 0:
		p.redirects = c.cfg.MaxRedirects
	case p.redirects < 0:
		p.redirects = 0
	}
	h := hop{t: t, method: method, body: req.Body, sh: sh, authz: t.basic, cookies: req.Cookies}
	if req.Auth == AuthDigest {
		h.authz = "" // sent once the server's challenge is known
	}
	for {
		next, kind, err := c.exchange(ctx, &h, resp, &p)
		resp.Timings.Waiting += wait
		resp.Timings.Duration += wait
		wait = 0
		if err == nil && kind != followNone {
			c.finishExchange(resp, ranges, nil, false)
			resp.Hops = append(resp.Hops, resp.Exchange)
			resp.Exchange = Exchange{Method: next.method, URL: next.t.shown, Name: name}
			if name == "" {
				resp.Name = next.t.shown
			}
			resp.resetHeaders()
			h = next
			continue
		}
		c.finishExchange(resp, ranges, err, h.t.ipHost)
		if err == nil && eff != nil && eff.Alters() && resp.Body != nil {
			resp.Body = eff.AlterBytes(resp.Body)
			resp.Injected = true
		}
		return
	}
}

// plan is what holds for every exchange of one Do.
type plan struct {
	req         *Request
	rt          ResponseType
	redirects   int // left to follow
	digestDone  bool
	deadline    time.Time
	timeout     time.Duration
	ctxDeadline bool // the deadline is the context's, not the request's timeout
	limit       int64
}

// ioErr explains an error of the connection: a deadline that passed is
// the request's timeout, or the end of ctx.
func ioErr(ctx context.Context, err error, p *plan) error {
	if !isDeadline(err) || errors.Is(err, ErrTimeout) {
		return err
	}
	if ctx.Err() == nil && !p.ctxDeadline {
		return fmt.Errorf("%w after %v", ErrTimeout, p.timeout)
	}
	if ctx.Err() == nil && time.Now().Before(p.deadline) {
		return err
	}
	<-ctx.Done() // the context's own deadline: its timer marks it at once
	return fmt.Errorf("request interrupted: %w", context.Cause(ctx))
}

// check refuses a request that cannot be written.
func (c *Client) check(req *Request, method string) (scriptHeaders, error) {
	if !httpguts.ValidHeaderFieldName(method) {
		return scriptHeaders{}, &Error{Code: CodeGeneric, Msg: fmt.Sprintf("invalid method %q", method)}
	}
	sh, err := inspectHeaders(req.Header)
	if err != nil {
		return sh, &Error{Code: CodeGeneric, Msg: err.Error()}
	}
	for _, ck := range req.Cookies {
		if !httpguts.ValidHeaderFieldName(ck.Name) || !validValue(ck.Value) || containsAny(ck.Value, ";\"") {
			return sh, &Error{Code: CodeGeneric, Msg: fmt.Sprintf("invalid cookie %q", ck.Name)}
		}
	}
	return sh, nil
}

func containsAny(s, chars string) bool {
	for i := range len(s) {
		for j := range len(chars) {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// fail records a request that got no response.
func (c *Client) fail(resp *Response, err error, ipHost bool) {
	e := classify(err, ipHost)
	resp.Err, resp.ErrorCode, resp.Expected, resp.Status = e, e.Code, false, 0
}

// finishExchange sets the error code and the expected flag of the exchange
// in resp.
func (c *Client) finishExchange(resp *Response, ranges []StatusRange, err error, ipHost bool) {
	if err != nil {
		e := classify(err, ipHost)
		if resp.Err == nil {
			resp.Err = e
		}
		resp.ErrorCode, resp.Expected = e.Code, false
		return
	}
	resp.Expected = expected(ranges, resp.Status)
	if resp.Status >= 400 {
		resp.ErrorCode = 1000 + resp.Status
	}
}

type followKind int

const (
	followNone followKind = iota
	followRedirect
	followDigest
)

// follow decides whether the response in resp leads to another request: a
// redirect to follow, or a digest challenge to answer. It returns that
// request.
func (c *Client) follow(h *hop, resp *Response, p *plan) (hop, followKind) {
	switch resp.Status {
	case 401:
		if p.req.Auth != AuthDigest || p.digestDone || h.t.u.User == nil {
			return hop{}, followNone
		}
		ch, ok := parseChallenge(resp)
		if !ok {
			return hop{}, followNone
		}
		p.digestDone = true
		next := *h
		next.authz = digestAuthorization(ch, h)
		return next, followDigest
	case 301, 302, 303, 307, 308:
	default:
		return hop{}, followNone
	}
	if p.redirects <= 0 {
		return hop{}, followNone
	}
	loc, ok := resp.lookup("Location")
	if !ok || len(loc) == 0 {
		return hop{}, followNone
	}
	u, err := h.t.u.Parse(string(loc))
	if err != nil {
		return hop{}, followNone
	}
	t, err := c.redirectTarget(u)
	if err != nil {
		return hop{}, followNone
	}
	p.redirects--
	next := hop{t: t, method: h.method, body: h.body, sh: h.sh, cookies: h.cookies,
		crossHost: h.crossHost || t.u.Hostname() != h.t.u.Hostname(), authz: t.basic}
	switch resp.Status {
	case 301, 302, 303:
		if h.method != http.MethodHead {
			next.method = http.MethodGet
		}
		next.body = nil
	}
	if next.crossHost {
		next.cookies = nil
	}
	return next, followRedirect
}

// redirectTarget parses a redirect's URL (without credentials from the
// request before it).
func (c *Client) redirectTarget(u *url.URL) (*target, error) {
	raw := u.String()
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("not http")
	}
	return c.target(raw)
}

// storeCookies keeps the cookies resp sets.
func (c *Client) storeCookies(u *url.URL, resp *Response) {
	var cs []*http.Cookie
	resp.each("Set-Cookie", func(v string) {
		if ck, err := http.ParseSetCookie(v); err == nil {
			cs = append(cs, ck)
		}
	})
	c.SetCookies(u, cs)
}
