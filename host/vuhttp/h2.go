package vuhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2, for HTTPS servers that offer it, through x/net's client
// connection: the engine keeps the connections (one per host, shared by a
// batch's concurrent requests) and reads the bodies as for HTTP/1.

// h2trace records when a request was written and its answer began; the
// hooks run on the connection's goroutines.
type h2trace struct {
	c                     *Client
	headers, wrote, first atomic.Int64 // Client.now, 0 when not seen
	ct                    httptrace.ClientTrace
}

func (t *h2trace) wroteHeaders()                           { t.headers.Store(int64(t.c.now())) }
func (t *h2trace) wroteRequest(httptrace.WroteRequestInfo) { t.wrote.Store(int64(t.c.now())) }
func (t *h2trace) gotFirstByte()                           { t.first.Store(int64(t.c.now())) }

// sent is when the request was written, as seen before the answer began:
// the writing goroutine may report the end of the write after the first
// byte of the answer came, and then the end of the headers is taken.
func (t *h2trace) sent(gotConn, first time.Duration) time.Duration {
	for _, w := range []time.Duration{time.Duration(t.wrote.Load()), time.Duration(t.headers.Load())} {
		if w >= gotConn && w <= first {
			return w
		}
	}
	return gotConn
}

// exchangeH2 is one exchange on an HTTP/2 connection. retry asks for
// another attempt: a reused connection closed under the request, before
// any answer, and the request may be sent again.
func (c *Client) exchangeH2(ctx context.Context, h *hop, hc *h2conn, resp *Response, p *plan, start time.Duration, mayRetry bool) (next hop, kind followKind, err error, retry bool) {
	gotConn := c.now()
	fresh := hc.fresh.Swap(false)
	var sent0, recv0 int64
	if !fresh {
		sent0, recv0 = hc.m.sent.Load(), hc.m.received.Load()
	}
	hc.info.report(&resp.Exchange)
	tm := &resp.Timings
	*tm = Timings{Blocked: gotConn - start}
	if fresh {
		tm.Connecting, tm.TLSHandshaking = hc.connecting, hc.handshaking
		tm.Blocked = max(0, tm.Blocked-hc.connecting-hc.handshaking)
	}
	defer func() {
		resp.BytesSent = hc.m.sent.Load() - sent0
		resp.BytesReceived = hc.m.received.Load() - recv0
	}()

	hreq := &http.Request{Method: h.method, URL: h.t.u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: c.h2Header(h), Host: h.t.hostHdr, ContentLength: int64(len(h.body))}
	if h.sh.host != "" {
		hreq.Host = h.sh.host
	}
	if len(h.body) > 0 {
		b := h.body
		hreq.Body = io.NopCloser(bytes.NewReader(b))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	rctx, cancel := context.WithDeadlineCause(ctx, p.deadline, ErrTimeout)
	defer cancel()
	tr := &h2trace{c: c}
	tr.ct = httptrace.ClientTrace{WroteHeaders: tr.wroteHeaders, WroteRequest: tr.wroteRequest, GotFirstResponseByte: tr.gotFirstByte}
	hreq = hreq.WithContext(httptrace.WithClientTrace(rctx, &tr.ct))

	hres, err := hc.cc.RoundTrip(hreq)
	now := c.now()
	first := time.Duration(tr.first.Load())
	if first < gotConn || first > now { // no answer (0), or a hook out of order
		first = now
	}
	wrote := tr.sent(gotConn, first)
	tm.Sending = wrote - gotConn
	tm.Waiting = first - wrote
	if err != nil {
		tm.Duration = tm.Sending + tm.Waiting
		if ctx.Err() == nil && rctx.Err() == nil {
			// A stream error leaves the connection usable, and a refused
			// stream was not processed; any other error is the connection's.
			var se http2.StreamError
			isStream := errors.As(err, &se)
			if !isStream {
				c.dropH2(hc)
			}
			again := !isStream && !fresh || isStream && se.Code == http2.ErrCodeRefusedStream
			if again && mayRetry && replayable(h) {
				return hop{}, followNone, nil, true
			}
		}
		return hop{}, followNone, h2Err(ctx, rctx, err, p), false
	}
	defer hres.Body.Close()
	resp.Status, resp.Proto, resp.rawH2 = hres.StatusCode, "HTTP/2.0", hres.Header
	if len(hres.Header["Set-Cookie"]) > 0 {
		c.storeCookies(h.t.u, resp)
	}
	next, kind = c.follow(h, resp, p)
	if kind != followNone || p.rt == BodyNone {
		resp.BodySize, err = io.Copy(io.Discard, hres.Body)
	} else {
		err = keep(hres.Body, resp, parseEncoding(hres.Header.Get("Content-Encoding")), hres.ContentLength, p.limit)
	}
	end := c.now()
	tm.Receiving = end - first
	tm.Duration = tm.Sending + tm.Waiting + tm.Receiving
	if err != nil {
		return hop{}, followNone, h2Err(ctx, rctx, err, p), false
	}
	return next, kind, nil, false
}

// h2Err explains an HTTP/2 failure: the request's deadline passing is its
// timeout; the end of ctx interrupts it.
func h2Err(ctx, rctx context.Context, err error, p *plan) error {
	if errors.Is(err, ErrTimeout) {
		return err
	}
	if rctx.Err() != nil && errors.Is(context.Cause(rctx), ErrTimeout) && ctx.Err() == nil {
		return &Error{Code: CodeTimeout, Msg: ErrTimeout.Error() + " after " + p.timeout.String(), Err: ErrTimeout}
	}
	if ctx.Err() != nil {
		return &Error{Code: CodeGeneric, Msg: "request interrupted: " + context.Cause(ctx).Error(), Err: context.Cause(ctx)}
	}
	return err
}

// h2Header builds the header map HTTP/2 sends: the script's, less what
// HTTP/2 frames itself, and the engine's defaults.
func (c *Client) h2Header(h *hop) http.Header {
	hdr := make(http.Header, len(h.sh.h)+4)
	for k, vs := range h.sh.h {
		if skipHeader(k, h.crossHost) || strings.EqualFold(k, "Connection") || strings.EqualFold(k, "Keep-Alive") ||
			strings.EqualFold(k, "Upgrade") || strings.EqualFold(k, "Proxy-Connection") {
			continue
		}
		hdr[k] = vs
	}
	if !h.sh.ua {
		hdr["User-Agent"] = []string{c.cfg.UserAgent}
	}
	if !h.sh.ae {
		hdr["Accept-Encoding"] = []string{"gzip, deflate"}
	}
	if h.authz != "" && (!h.sh.authz || h.crossHost) {
		hdr["Authorization"] = []string{h.authz}
	}
	var userCookie []string
	if !h.crossHost {
		userCookie = h.sh.cookie
	}
	if b := c.appendCookies(nil, h, userCookie); len(b) > 0 {
		hdr["Cookie"] = []string{string(b[len("Cookie: ") : len(b)-2])}
	}
	return hdr
}
