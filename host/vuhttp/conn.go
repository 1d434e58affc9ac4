package vuhttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// maxIdlePerHost bounds the idle HTTP/1 connections kept per host: enough
// for a batch's per-host concurrency.
func (c *Client) maxIdlePerHost() int { return max(c.cfg.BatchPerHost, 2) }

// poolKey names the connections that can carry a request.
type poolKey struct {
	https bool
	addr  string // host:port
}

type hostPool struct {
	idle []*conn   // HTTP/1, most recently used last
	h2   []*h2conn // HTTP/2, shared by concurrent requests
}

// meter counts what a connection moves, for the exchange and the client.
type meter struct {
	net.Conn
	c              *Client
	sent, received atomic.Int64
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.Conn.Read(p)
	if n > 0 {
		m.received.Add(int64(n))
		m.c.received.Add(int64(n))
	}
	return n, err
}

func (m *meter) Write(p []byte) (int, error) {
	n, err := m.Conn.Write(p)
	if n > 0 {
		m.sent.Add(int64(n))
		m.c.sent.Add(int64(n))
	}
	return n, err
}

// conn is an HTTP/1 connection, used by one request at a time.
type conn struct {
	nc   net.Conn // the meter, or a *tls.Conn over it
	m    *meter
	br   *bufio.Reader
	buf  []byte // the request being written; then a long header line
	body body   // the body being read
	key  poolKey
	// fresh is set until the connection's first exchange ends; connecting
	// and handshaking are its dial's phases, counted by that exchange.
	fresh                   bool
	connecting, handshaking time.Duration
	lastUse                 time.Time
	info                    connInfo
}

// connInfo is what an exchange reports of its connection.
type connInfo struct {
	peer            netip.AddrPort
	tlsVer, tlsSuit string
}

func (i *connInfo) report(e *Exchange) {
	e.Peer, e.TLSVersion, e.TLSCipherSuite = i.peer, i.tlsVer, i.tlsSuit
}

// tlsVersions names the TLS versions as scripts see them.
var tlsVersions = map[uint16]string{tls.VersionTLS10: "tls1.0", tls.VersionTLS11: "tls1.1",
	tls.VersionTLS12: "tls1.2", tls.VersionTLS13: "tls1.3"}

// h2conn is an HTTP/2 connection.
type h2conn struct {
	cc                      *http2.ClientConn
	m                       *meter
	key                     poolKey
	fresh                   atomic.Bool
	connecting, handshaking time.Duration
	info                    connInfo
}

// idleTimeout is how long an idle connection is trusted: an older one is
// closed rather than reused (servers close theirs sooner or later).
const idleTimeout = 60 * time.Second

// target is a parsed request URL and what the engine derives from it,
// cached per client: most scripts request a few URLs over and over.
type target struct {
	raw     string
	u       *url.URL
	key     poolKey
	hostHdr string // Host header
	uri     string // request-target
	shown   string // the URL with any password hidden
	ipHost  bool
	basic   string // "Basic ..." from the URL's credentials, or ""
}

const targetCache = 64

func (c *Client) target(raw string) (*target, error) {
	i := maphash.String(c.seed, raw) % targetCache
	c.mu.Lock()
	t := c.targets[i]
	c.mu.Unlock()
	if t != nil && t.raw == raw {
		return t, nil
	}
	t, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.targets[i] = t
	c.mu.Unlock()
	return t, nil
}

func parseTarget(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		inner := unwrapURL(err)
		return nil, &Error{Code: CodeInvalidURL, Msg: fmt.Sprintf("invalid URL %q: %v", redactRaw(raw), inner), Err: inner}
	}
	return targetOf(raw, u)
}

// redactRaw hides the credentials of a URL that may not parse: what
// stands before an @ in its authority.
func redactRaw(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return raw
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return raw
	}
	start := len(raw) - len(rest)
	return raw[:start] + "xxxxx" + raw[start+at:]
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func targetOf(raw string, u *url.URL) (*target, error) {
	bad := func(why string) (*target, error) {
		return nil, &Error{Code: CodeInvalidURL, Msg: fmt.Sprintf("invalid URL %q: %s", redactRaw(raw), why)}
	}
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	case "":
		return bad("not absolute; want http://HOST/PATH or https://HOST/PATH")
	default:
		return bad("scheme " + u.Scheme + " is not http or https")
	}
	host := u.Hostname()
	if host == "" {
		return bad("no host")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	t := &target{raw: raw, u: u, hostHdr: u.Host, uri: u.RequestURI(), shown: raw,
		key: poolKey{https: u.Scheme == "https", addr: net.JoinHostPort(host, port)}}
	if !validValue(t.uri) || strings.ContainsAny(t.uri, " ") {
		return bad("the path holds a space or a control character")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		t.ipHost = true
	}
	if u.User != nil {
		t.shown = u.Redacted()
		pass, _ := u.User.Password()
		t.basic = "Basic " + basicAuth(u.User.Username(), pass)
		t.hostHdr = u.Host
	}
	return t, nil
}

// getConn returns an idle connection for t, or dials one. h2 is set when
// the server speaks HTTP/2.
func (c *Client) getConn(ctx context.Context, t *target, deadline time.Time) (cn *conn, h2 *h2conn, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, errors.New("vuhttp: client closed")
	}
	if p := c.pools[t.key]; p != nil {
		live := p.h2[:0]
		for _, h := range p.h2 {
			if st := h.cc.State(); !st.Closed && !st.Closing {
				live = append(live, h)
			}
		}
		clear(p.h2[len(live):])
		p.h2 = live
		for _, h := range p.h2 {
			if h.cc.CanTakeNewRequest() {
				c.mu.Unlock()
				return nil, h, nil
			}
		}
		for len(p.idle) > 0 {
			cn = p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			if time.Since(cn.lastUse) < idleTimeout {
				c.active[cn] = ctx.Done()
				c.mu.Unlock()
				return cn, nil, nil
			}
			cn.nc.Close()
		}
	}
	c.mu.Unlock()
	return c.dial(ctx, t, deadline)
}

// dial connects to t through the permission layer, then shakes hands for
// https. The dial's phases are kept on the connection for its first
// exchange.
func (c *Client) dial(ctx context.Context, t *target, deadline time.Time) (*conn, *h2conn, error) {
	dctx, cancel := context.WithDeadlineCause(ctx, deadline, ErrTimeout)
	defer cancel()
	start := c.now()
	raw, err := c.cfg.Perm.DialContext(dctx, "tcp", t.key.addr)
	if err != nil {
		return nil, nil, dialErr(dctx, err)
	}
	m := &meter{Conn: raw, c: c}
	connecting := c.now() - start
	var nc net.Conn = m
	var handshaking time.Duration
	var info connInfo
	if a, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
		info.peer = a.AddrPort()
	}
	if t.key.https {
		conf := c.tlsConf.Clone()
		conf.ServerName = t.u.Hostname()
		tc := tls.Client(m, conf)
		hs := c.now()
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			err = dialErr(dctx, err)
			if e := classify(err, false); e.Code == CodeGeneric {
				e.Code = CodeTLS
				return nil, nil, e
			}
			return nil, nil, err
		}
		handshaking = c.now() - hs
		nc = tc
		st := tc.ConnectionState()
		info.tlsVer, info.tlsSuit = tlsVersions[st.Version], tls.CipherSuiteName(st.CipherSuite)
		if st.NegotiatedProtocol == "h2" {
			cc, err := c.h2.NewClientConn(tc)
			if err != nil {
				tc.Close()
				return nil, nil, err
			}
			h := &h2conn{cc: cc, m: m, key: t.key, connecting: connecting, handshaking: handshaking, info: info}
			h.fresh.Store(true)
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				cc.Close()
				return nil, nil, errors.New("vuhttp: client closed")
			}
			p := c.pool(t.key)
			p.h2 = append(p.h2, h)
			c.mu.Unlock()
			return nil, h, nil
		}
	}
	cn := &conn{nc: nc, m: m, br: bufio.NewReaderSize(nc, 4096), key: t.key, fresh: true,
		connecting: connecting, handshaking: handshaking, info: info}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return nil, nil, errors.New("vuhttp: client closed")
	}
	c.active[cn] = ctx.Done()
	c.mu.Unlock()
	return cn, nil, nil
}

// dialErr says why a dial was cut short: the request's deadline (a
// timeout), or the end of the caller's context (an interruption).
func dialErr(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrTimeout) {
		return fmt.Errorf("%w while connecting (%w)", ErrTimeout, err)
	}
	return fmt.Errorf("request interrupted: %w", cause)
}

func (c *Client) pool(k poolKey) *hostPool {
	p := c.pools[k]
	if p == nil {
		p = &hostPool{}
		c.pools[k] = p
	}
	return p
}

// putConn ends a request on cn: the connection goes back to the pool when
// reuse is true, or is closed.
func (c *Client) putConn(cn *conn, reuse bool) {
	c.mu.Lock()
	delete(c.active, cn)
	if reuse && !c.closed && !c.cfg.NoConnectionReuse {
		p := c.pool(cn.key)
		if len(p.idle) < c.maxIdlePerHost() {
			cn.lastUse = time.Now()
			p.idle = append(p.idle, cn)
			c.mu.Unlock()
			return
		}
	}
	c.mu.Unlock()
	cn.nc.Close()
}

// dropH2 forgets an HTTP/2 connection that failed.
func (c *Client) dropH2(h *h2conn) {
	c.mu.Lock()
	if p := c.pools[h.key]; p != nil {
		for i, x := range p.h2 {
			if x == h {
				p.h2 = append(p.h2[:i], p.h2[i+1:]...)
				break
			}
		}
	}
	c.mu.Unlock()
	h.cc.Close()
}

func (c *Client) closeIdleLocked() {
	for k, p := range c.pools {
		for _, cn := range p.idle {
			cn.nc.Close()
		}
		for _, h := range p.h2 {
			h.cc.Close()
		}
		delete(c.pools, k)
	}
}
