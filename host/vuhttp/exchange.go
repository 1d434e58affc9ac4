package vuhttp

import (
	"context"
	"net/http"
	"time"
)

// maxAttempts bounds the tries of one exchange: a reused connection the
// server closed while it was idle fails before any answer, and the request
// goes again on another.
const maxAttempts = 3

// exchange sends one request (a hop) and reads its response into resp:
// the body is discarded when the response leads to another request (next,
// kind), and read as the plan says otherwise.
func (c *Client) exchange(ctx context.Context, h *hop, resp *Response, p *plan) (next hop, kind followKind, err error) {
	start := c.now()
	for attempt := 1; ; attempt++ {
		cn, h2, err := c.getConn(ctx, h.t, p.deadline)
		if err != nil {
			resp.Timings.Blocked = c.now() - start
			return hop{}, followNone, ioErr(ctx, err, p)
		}
		var retry bool
		if h2 != nil {
			next, kind, err, retry = c.exchangeH2(ctx, h, h2, resp, p, start, attempt < maxAttempts)
		} else {
			next, kind, err, retry = c.exchangeH1(ctx, h, cn, resp, p, start, attempt < maxAttempts)
		}
		if !retry {
			return next, kind, err
		}
	}
}

// replayable reports whether a request may be sent again when a reused
// connection failed before any answer: the server cannot have acted on
// it twice.
func replayable(h *hop) bool {
	switch h.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return h.sh.idempotent
}

// exchangeH1 is one exchange on an HTTP/1 connection. retry asks for
// another attempt: the connection was stale and nothing was lost.
func (c *Client) exchangeH1(ctx context.Context, h *hop, cn *conn, resp *Response, p *plan, start time.Duration, mayRetry bool) (next hop, kind followKind, err error, retry bool) {
	gotConn := c.now()
	fresh := cn.fresh
	cn.fresh = false
	var sent0, recv0 int64
	if !fresh {
		sent0, recv0 = cn.m.sent.Load(), cn.m.received.Load()
	}
	cn.info.report(&resp.Exchange)
	tm := &resp.Timings
	*tm = Timings{Blocked: gotConn - start}
	if fresh {
		tm.Connecting, tm.TLSHandshaking = cn.connecting, cn.handshaking
		tm.Blocked = max(0, tm.Blocked-cn.connecting-cn.handshaking)
	}
	account := func() {
		resp.BytesSent = cn.m.sent.Load() - sent0
		resp.BytesReceived = cn.m.received.Load() - recv0
	}
	cn.nc.SetDeadline(p.deadline)
	if err := ctx.Err(); err != nil { // ended before the connection was watched
		c.putConn(cn, true)
		return hop{}, followNone, ioErr(ctx, context.DeadlineExceeded, p), false
	}
	err = c.writeRequest(cn, h)
	wrote := c.now()
	tm.Sending = wrote - gotConn
	tm.Duration = tm.Sending
	if err != nil {
		c.putConn(cn, false)
		if !fresh && mayRetry && ctx.Err() == nil && !isDeadline(err) {
			return hop{}, followNone, nil, true
		}
		account()
		return hop{}, followNone, ioErr(ctx, err, p), false
	}
	_, err = cn.br.Peek(1)
	first := c.now()
	if err != nil {
		c.putConn(cn, false)
		// Nothing of a response came (a TLS close alert may have).
		if !fresh && mayRetry && isEOF(err) && replayable(h) {
			return hop{}, followNone, nil, true
		}
		tm.Waiting = first - wrote
		tm.Duration += tm.Waiting
		account()
		return hop{}, followNone, ioErr(ctx, err, p), false
	}
	tm.Waiting = first - wrote
	hd, err := c.readHead(cn, h, resp)
	if err == nil {
		if hd.setCookie {
			c.storeCookies(h.t.u, resp)
		}
		next, kind = c.follow(h, resp, p)
		if !hd.noBody {
			cn.body = body{cn: cn, frame: frameLength, left: hd.length}
			switch {
			case hd.chunked:
				cn.body.frame, cn.body.left = frameChunked, 0
			case hd.untilEOF:
				cn.body.frame = frameEOF
			}
			if kind != followNone || p.rt == BodyNone {
				resp.BodySize, err = cn.body.discard()
			} else {
				enc := identity
				if v, ok := resp.lookup("Content-Encoding"); ok {
					enc = parseEncoding(string(v))
				}
				length := hd.length
				if hd.chunked || hd.untilEOF {
					length = -1
				}
				err = keep(&cn.body, resp, enc, length, p.limit)
			}
		}
	}
	end := c.now()
	reuse := err == nil && !hd.closeConn && !h.sh.closeConn
	c.putConn(cn, reuse)
	tm.Receiving = end - first
	tm.Duration = tm.Sending + tm.Waiting + tm.Receiving
	account()
	if err != nil {
		return hop{}, followNone, ioErr(ctx, err, p), false
	}
	return next, kind, nil, false
}
