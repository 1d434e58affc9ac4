// Package vuhttp is the HTTP client of one VU: the engine behind a
// script's http.get, http.post and http.batch.
//
// A Client belongs to one VU. It keeps that VU's connections (reused from
// request to request, as a browser tab would), its cookie jar (reset at
// each iteration with ResetCookies) and its byte counts. Every connection
// is dialled through the permission layer (--allow-net: a host is judged
// before any lookup, so a refused name costs no DNS query, and an allowed
// IP address none either), so a redirect to a refused host fails on its
// hop. Fault rules on http:PATTERN targets (see package fault) act before
// the network: status(CODE), reset, error(TYPE), delay and the rest.
//
// HTTP/1.1 is spoken by the engine itself, on the caller's goroutine: no
// goroutine per connection, no allocation per request once a Response is
// reused, and exact timings and byte counts per request. HTTPS servers
// that offer HTTP/2 (by ALPN) get HTTP/2, through golang.org/x/net/http2.
//
// Every response carries the phases of its request (blocked, connecting,
// TLS handshaking, sending, waiting, receiving; the last three sum to the
// duration), what it moved on the wire, and an error code in the ranges
// load-testing scripts branch on (1050 timeout, 1212 connection refused,
// 1220 reset, 1404 a 404, ...; see the Code constants).
package vuhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"hash/maphash"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/publicsuffix"

	"spellhost/host/fault"
	"spellhost/tools/perm"
)

// Defaults of Config.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxRedirects = 10
	DefaultUserAgent    = "spellhost"
	DefaultBatch        = 20
	DefaultBatchPerHost = 6
)

// Config is what a VU's client is built with. Zero fields take the
// defaults.
type Config struct {
	// Perm judges every connection (required).
	Perm *perm.Set
	// Faults holds the run's fault rules; http:PATTERN rules act on
	// requests (nil: none).
	Faults *fault.Set
	// MaxResponseBytes caps a body kept in memory, after decompression
	// (default: Perm's response limit, --max-response-size). A longer body
	// fails the request with CodeTooLarge; a body that is discarded
	// (BodyNone) is not capped.
	MaxResponseBytes int64
	// Timeout bounds a request that sets none (default 60s).
	Timeout time.Duration
	// MaxRedirects is how many redirects a request follows when it says
	// nothing (default 10; NoRedirects: none).
	MaxRedirects int
	// UserAgent is sent unless a request sets its own (default
	// "spellhost").
	UserAgent string
	// ResponseType is the default of Request.ResponseType (default
	// BodyText; BodyNone discards bodies unless a request asks for them).
	ResponseType ResponseType
	// ExpectedStatuses is the default of Request.ExpectedStatuses (default
	// 200-399).
	ExpectedStatuses []StatusRange
	// Batch bounds the requests of one Batch call in flight at once
	// (default 20), and BatchPerHost those to one host and port (default 6).
	Batch, BatchPerHost int
	// NoConnectionReuse closes every connection after its request.
	NoConnectionReuse bool
	// InsecureSkipTLSVerify accepts any server certificate.
	InsecureSkipTLSVerify bool
	// TLSMinVersion and TLSMaxVersion bound the TLS versions offered
	// (tls.VersionTLS12 ...; default TLS 1.2 to the newest).
	TLSMinVersion, TLSMaxVersion uint16
	// RootCAs are the authorities trusted (nil: the system's).
	RootCAs *x509.CertPool
	// DisableHTTP2 offers HTTPS servers HTTP/1.1 only.
	DisableHTTP2 bool
}

// Client is the HTTP client of one VU. Do and Batch may run concurrently
// (Batch does); Close ends it.
type Client struct {
	cfg     Config
	base    time.Time
	tlsConf *tls.Config
	h2      *http2.Transport
	uaLine  string // "User-Agent: ...\r\n", or ""

	mu      sync.Mutex
	pools   map[poolKey]*hostPool
	active  map[*conn]<-chan struct{} // HTTP/1 connections in use, and the Done of their request's context
	closed  bool
	targets [targetCache]*target
	seed    maphash.Seed
	// watched is the Done channel of the context whose end interrupts the
	// requests in flight; stopWatch unregisters it.
	watched   <-chan struct{}
	stopWatch func() bool

	jar     atomic.Pointer[cookiejar.Jar]
	jarUsed atomic.Bool

	sent, received atomic.Int64
}

// ErrNoPerm is returned by NewClient without Config.Perm.
var ErrNoPerm = errors.New("vuhttp: Config.Perm is required (every connection is judged by it)")

// NewClient returns a VU's client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Perm == nil {
		return nil, ErrNoPerm
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = cfg.Perm.Limits().MaxResponseBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRedirects == 0:
		cfg.MaxRedirects = DefaultMaxRedirects
	case cfg.MaxRedirects < 0:
		cfg.MaxRedirects = 0
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.ResponseType == BodyDefault {
		cfg.ResponseType = BodyText
	}
	if cfg.ExpectedStatuses == nil {
		cfg.ExpectedStatuses = DefaultExpected
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.BatchPerHost <= 0 {
		cfg.BatchPerHost = DefaultBatchPerHost
	}
	if cfg.TLSMinVersion == 0 {
		cfg.TLSMinVersion = tls.VersionTLS12
	}
	if cfg.TLSMaxVersion != 0 && cfg.TLSMaxVersion < cfg.TLSMinVersion {
		return nil, errors.New("vuhttp: TLSMaxVersion is below TLSMinVersion")
	}
	c := &Client{
		cfg:    cfg,
		base:   time.Now(),
		pools:  make(map[poolKey]*hostPool),
		active: make(map[*conn]<-chan struct{}),
		seed:   maphash.MakeSeed(),
		uaLine: "User-Agent: " + cfg.UserAgent + "\r\n",
	}
	if !validValue(cfg.UserAgent) {
		return nil, errors.New("vuhttp: Config.UserAgent holds a control character")
	}
	protos := []string{"h2", "http/1.1"}
	if cfg.DisableHTTP2 {
		protos = protos[1:]
	}
	c.tlsConf = &tls.Config{
		InsecureSkipVerify: cfg.InsecureSkipTLSVerify, //nolint:gosec // the script asked for it
		MinVersion:         cfg.TLSMinVersion,
		MaxVersion:         cfg.TLSMaxVersion,
		RootCAs:            cfg.RootCAs,
		NextProtos:         protos,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}
	c.h2 = &http2.Transport{DisableCompression: true, AllowHTTP: false}
	c.newJar()
	return c, nil
}

func (c *Client) newJar() {
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) // never fails
	c.jar.Store(j)
	c.jarUsed.Store(false)
}

// ResetCookies empties the cookie jar (between iterations).
func (c *Client) ResetCookies() {
	if c.jarUsed.Load() {
		c.newJar()
	}
}

// Cookies returns the jar's cookies for u.
func (c *Client) Cookies(u *url.URL) []*http.Cookie { return c.jar.Load().Cookies(u) }

// SetCookies stores cookies in the jar as if u's server had set them.
func (c *Client) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if len(cookies) == 0 {
		return
	}
	c.jar.Load().SetCookies(u, cookies)
	c.jarUsed.Store(true)
}

// Traffic returns the bytes the client's connections sent and received
// so far, TLS included: what data_sent and data_received count.
func (c *Client) Traffic() (sent, received int64) { return c.sent.Load(), c.received.Load() }

// CloseIdle closes the connections no request is using.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeIdleLocked()
}

// Close closes every connection and ends the goroutines HTTP/2 keeps. A
// request still in flight fails; its connection is closed when it ends.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.closeIdleLocked()
	for cn := range c.active {
		cn.nc.Close()
	}
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch, c.watched = nil, nil
	}
}

// now is the time since the client began, on the monotonic clock.
func (c *Client) now() time.Duration { return time.Since(c.base) }

// watch makes the end of ctx interrupt the requests in flight: their
// connections' deadlines are moved to the past. The registration is kept
// while the same context is used.
func (c *Client) watch(ctx context.Context) {
	done := ctx.Done()
	if done == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watched == done {
		return
	}
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.watched = done
	c.stopWatch = context.AfterFunc(ctx, func() { c.interrupt(done) })
}

// past is a deadline long gone: setting it wakes a blocked read or write.
var past = time.Unix(1, 0)

// interrupt wakes the requests made under the context whose Done is done.
func (c *Client) interrupt(done <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cn, d := range c.active {
		if d == done {
			cn.nc.SetDeadline(past)
		}
	}
}
