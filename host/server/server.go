// Package server is the kernel's HTTP transport: the protocol's envelopes
// over HTTP/JSON, REST faces over the same dispatch, task events as
// server-sent events, health and readiness probes, and Prometheus metrics.
//
// Every route answers through the kernel (Kernel.DoJSON, Kernel.Do, and
// the task manager the kernel owns); the server adds API keys, per-key
// rate and concurrency limits, body limits, timeouts, an access log,
// net:server fault injection and a graceful drain. It never widens what
// the kernel's tools may do: their permissions are the kernel's.
//
// Routes (all replies are JSON in the protocol's reply envelope, except
// the probes, the metrics and the event stream):
//
//	POST   /v1/request               any protocol request; its reply
//	GET    /v1/tools                 list (?category=C) or search (?q=TEXT)
//	GET    /v1/tools/{name}          a tool's spec
//	POST   /v1/tools/{name}/invoke   body: the tool's parameters; ?timeout=D
//	POST   /v1/tasks                 body: task_submit's fields; 201 and Location
//	GET    /v1/tasks                 ?state=&tag=&page=&page_size=
//	GET    /v1/tasks/{id}            a task's status
//	DELETE /v1/tasks/{id}            cancel; 409 when it already ended
//	GET    /v1/tasks/{id}/events     text/event-stream of its states
//	GET    /healthz                  200 while the process serves
//	GET    /readyz                   200 when accepting work, 503 draining
//	GET    /metrics                  Prometheus text exposition
//
// /healthz and /readyz need no key; every other route does when the server
// has keys.
package server

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"spellhost/host/fault"
	"spellhost/host/kernel"
)

// Defaults of Config.
const (
	DefaultMaxConcurrent     = 256
	DefaultRequestTimeout    = 60 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultHeartbeat         = 15 * time.Second
	DefaultDrainTimeout      = 30 * time.Second
)

// Config configures a server. Zero fields take the defaults.
type Config struct {
	// Kernel answers the requests. Required. The server does not close
	// it: close it after Drain.
	Kernel *kernel.Kernel
	// Keys are the API keys. With none the server has no authentication,
	// which Serve allows on a loopback address only, unless InsecureNoAuth.
	Keys []Key
	// InsecureNoAuth lets Serve listen on any address without keys.
	InsecureNoAuth bool
	// Rate limits each key's requests per second (0: no limit); Burst is
	// its bucket, the requests allowed at once (default max(1, Rate)).
	// Without keys, the limits apply to all clients together.
	Rate  float64
	Burst int
	// MaxConcurrent caps each key's requests in progress, event streams
	// included (default 256; negative: no cap).
	MaxConcurrent int
	// MaxBodyBytes caps a request body (default: the kernel's
	// MaxRequestBytes); a larger one is answered 413 unread.
	MaxBodyBytes int64
	// RequestTimeout bounds a protocol request and an invoke that names
	// its own timeout, so a client cannot hold a worker longer (default
	// 60s). Event streams are bounded by their task instead.
	RequestTimeout time.Duration
	// The http.Server timeouts: ReadHeaderTimeout (default 5s) for the
	// headers, ReadTimeout (default 30s) for headers and body, WriteTimeout
	// (default ReadTimeout + the longer of RequestTimeout and the kernel's
	// default tool timeout + 5s) for the whole exchange, IdleTimeout
	// (default 2m) for a kept-alive connection between requests.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Heartbeat is the interval of the comment lines that keep an event
	// stream alive (default 15s).
	Heartbeat time.Duration
	// Log receives the server's records and, with AccessLog, one record
	// per request. Nil logs nothing.
	Log       *slog.Logger
	AccessLog bool
	// TLSCertFile and TLSKeyFile, both or neither, serve HTTPS.
	TLSCertFile, TLSKeyFile string
}

// Server serves a kernel over HTTP. Create it with New, run it with Serve,
// stop it with Drain (graceful) or Close.
type Server struct {
	cfg     Config
	k       *kernel.Kernel
	faults  *fault.Set
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	clients []*client // by key; one anonymous client without keys
	auth    bool
	http    *http.Server
	tls     *tls.Config

	idPrefix string
	idSeq    atomic.Uint64

	draining atomic.Bool
	active   atomic.Int64  // requests in progress, event streams not counted
	idle     chan struct{} // signalled when active falls to 0 while draining
	closing  chan struct{} // closed when event streams must end
	closeMu  sync.Once

	routes    []*route
	pool      sync.Pool // *exchange
	toolStats sync.Map  // tool name -> *toolCounters
}

// New checks cfg and builds a server.
func New(cfg Config) (*Server, error) {
	if cfg.Kernel == nil {
		return nil, errors.New("server: no kernel")
	}
	if err := CheckKeys(cfg.Keys); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	switch {
	case cfg.Rate < 0 || cfg.Rate != cfg.Rate || cfg.Rate > 1e9:
		return nil, fmt.Errorf("server: rate %v: want 0 (no limit) or requests per second above 0", cfg.Rate)
	case cfg.Burst < 0:
		return nil, fmt.Errorf("server: burst %d: want 0 (default) or more", cfg.Burst)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("server: max body %d: want 0 (default) or more", cfg.MaxBodyBytes)
	case (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == ""):
		return nil, errors.New("server: TLS needs both a certificate and a key file")
	}
	for _, d := range []time.Duration{cfg.RequestTimeout, cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout, cfg.Heartbeat} {
		if d < 0 {
			return nil, fmt.Errorf("server: timeout %v: want 0 (default) or more", d)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.RequestTimeout, DefaultRequestTimeout)
	def(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&cfg.ReadTimeout, DefaultReadTimeout)
	// A reply may wait for a tool call as long as the longer of the
	// request timeout and the kernel's default tool timeout.
	def(&cfg.WriteTimeout, cfg.ReadTimeout+max(cfg.RequestTimeout, cfg.Kernel.Options().DefaultTimeout)+5*time.Second)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.Heartbeat, DefaultHeartbeat)
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = int64(cfg.Kernel.Options().MaxRequestBytes)
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(cfg.Rate))
	}
	s := &Server{
		cfg: cfg, k: cfg.Kernel, faults: cfg.Kernel.Options().Faults, log: cfg.Log,
		mux: http.NewServeMux(), metrics: newMetrics(cfg.Kernel), auth: len(cfg.Keys) > 0,
		idle: make(chan struct{}, 1), closing: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: TLS: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	for _, k := range cfg.Keys {
		s.clients = append(s.clients, newClient(k.Name, k.Secret, cfg.Rate, cfg.Burst))
	}
	if !s.auth {
		s.clients = []*client{newClient(anonymous, "", cfg.Rate, cfg.Burst)}
	}
	var b [4]byte
	rand.Read(b[:])
	s.idPrefix = hex.EncodeToString(b[:]) + "-"
	s.pool.New = func() any { return new(exchange) }
	s.routes = s.register()
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         s.tls,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// route is one registered route: its pattern (the metrics label), what
// applies to it, and its handler. An event stream leaves the in-flight
// count itself (Server.leave) once it starts.
type route struct {
	name  string
	api   bool // keys and limits apply
	v1    bool // an API route under /v1/, where net:server faults apply
	stats *routeStats
	fn    func(ex *exchange, r *http.Request)
}

// register installs the routes. Each path also gets a method-less pattern
// that answers 405 with Allow, and "/" answers 404, so every answer is the
// JSON envelope.
func (s *Server) register() []*route {
	var all []*route
	add := func(pattern string, api bool, fn func(*exchange, *http.Request)) {
		rt := &route{name: pattern, api: api, v1: strings.Contains(pattern, " /v1/"), stats: s.metrics.route(pattern), fn: fn}
		all = append(all, rt)
		s.mux.Handle(pattern, rt)
	}
	add("GET /healthz", false, s.healthz)
	add("GET /readyz", false, s.readyz)
	metricsHandler := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
	add("GET /metrics", true, func(ex *exchange, r *http.Request) { metricsHandler.ServeHTTP(ex, r) })
	add("POST /v1/request", true, s.request)
	add("GET /v1/tools", true, s.listTools)
	add("GET /v1/tools/{name}", true, s.toolInfo)
	add("POST /v1/tools/{name}/invoke", true, s.invoke)
	add("POST /v1/tasks", true, s.submitTask)
	add("GET /v1/tasks", true, s.listTasks)
	add("GET /v1/tasks/{id}", true, s.taskStatus)
	add("DELETE /v1/tasks/{id}", true, s.cancelTask)
	add("GET /v1/tasks/{id}/events", true, s.taskEvents)

	allow := map[string][]string{}
	var paths []string
	for _, rt := range all {
		method, path, _ := strings.Cut(rt.name, " ")
		if _, ok := allow[path]; !ok {
			paths = append(paths, path)
		}
		allow[path] = append(allow[path], method)
		if method == "GET" {
			allow[path] = append(allow[path], "HEAD")
		}
	}
	for _, path := range paths {
		methods := strings.Join(allow[path], ", ")
		rt := &route{name: "other " + path, stats: s.metrics.route("other " + path), fn: func(ex *exchange, r *http.Request) {
			ex.Header().Set("Allow", methods)
			ex.fail(http.StatusMethodNotAllowed, "validation_error", fmt.Sprintf("method %s: %s takes %s", safe(r.Method), path, methods))
		}}
		s.mux.Handle(path, rt)
	}
	notFound := &route{name: "unmatched", stats: s.metrics.route("unmatched"), fn: func(ex *exchange, r *http.Request) {
		ex.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s; the API is under /v1/", safe(r.Method), safe(r.URL.Path)))
	}}
	s.mux.Handle("/", notFound)
	return append(all, notFound)
}

// Handler returns the server's handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP answers one request: a request id, the route, and the access
// log and metrics at the end.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := s.pool.Get().(*exchange)
	ex.begin(s, w, r)
	defer s.finish(ex, r)
	if !canonical(r.URL.Path) {
		ex.route = nil
		ex.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("path %s is not in canonical form (no //, . or .. segments)", safe(r.URL.Path)))
		return
	}
	s.mux.ServeHTTP(ex, r)
}

// ServeHTTP runs the route for a request the mux matched: the drain gate,
// then for API routes faults, the key and its limits, then the handler.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := w.(*exchange)
	ex.route = rt
	s := ex.s
	if s.draining.Load() && rt.name != "GET /healthz" && rt.name != "GET /readyz" {
		ex.Header().Set("Connection", "close")
		ex.fail(http.StatusServiceUnavailable, TypeUnavailable, "server: shutting down; not accepting requests")
		return
	}
	if rt.api {
		if rt.v1 && s.injectBefore(ex, r) {
			return
		}
		c := s.admit(ex, r)
		if c == nil {
			return
		}
		defer c.active.Add(-1)
	}
	rt.fn(ex, r)
}

// admit finds the request's client and checks its limits. It returns nil
// when it answered the request itself (401, 403, 429).
func (s *Server) admit(ex *exchange, r *http.Request) *client {
	c := s.clients[0]
	if s.auth {
		key, problem := presented(r.Header)
		if problem != "" {
			s.metrics.denied.WithLabelValues("missing_or_malformed").Inc()
			ex.Header().Set("WWW-Authenticate", `Bearer realm="spellhost"`)
			ex.fail(http.StatusUnauthorized, TypeUnauthorized, "server: "+problem)
			return nil
		}
		if c = s.lookup(key); c == nil {
			s.metrics.denied.WithLabelValues("unknown").Inc()
			ex.fail(http.StatusForbidden, TypeForbidden, "server: API key not recognised")
			return nil
		}
	}
	ex.client = c
	if c.limiter != nil && !c.limiter.AllowN(ex.start, 1) {
		s.metrics.limited.WithLabelValues("rate").Inc()
		ex.Header().Set("Retry-After", retryAfter(c.limiter, ex.start))
		ex.fail(http.StatusTooManyRequests, TypeRateLimited, fmt.Sprintf("server: over the rate of %g requests per second for %s", s.cfg.Rate, c.name))
		return nil
	}
	if n := c.active.Add(1); s.cfg.MaxConcurrent > 0 && n > int64(s.cfg.MaxConcurrent) {
		c.active.Add(-1)
		s.metrics.limited.WithLabelValues("concurrency").Inc()
		ex.Header().Set("Retry-After", "1")
		ex.fail(http.StatusTooManyRequests, TypeRateLimited, fmt.Sprintf("server: %s has %d requests in progress, the most allowed", c.name, s.cfg.MaxConcurrent))
		return nil
	}
	return c
}

// canonical reports whether p is a clean absolute path: the mux would
// redirect anything else, and a redirect is no answer for an API.
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); {
		j := strings.IndexByte(p[i+1:], '/')
		seg := p[i+1:]
		if j >= 0 {
			seg = p[i+1 : i+1+j]
		}
		if seg == "." || seg == ".." || seg == "" && j >= 0 {
			return false
		}
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return true
}

// safe shortens and quotes untrusted text for a message.
func safe(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func (s *Server) healthz(ex *exchange, _ *http.Request) {
	if s.draining.Load() {
		ex.reply(http.StatusOK, []byte(`{"status":"ok","draining":true}`))
		return
	}
	ex.reply(http.StatusOK, []byte(`{"status":"ok"}`))
}

func (s *Server) readyz(ex *exchange, _ *http.Request) {
	if s.draining.Load() {
		ex.Header().Set("Connection", "close")
		ex.reply(http.StatusServiceUnavailable, []byte(`{"status":"draining"}`))
		return
	}
	ex.reply(http.StatusOK, []byte(`{"status":"ready"}`))
}

// Exposed reports whether addr listens beyond this machine: any address
// but a loopback one (a wildcard address listens on every interface).
func Exposed(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	return err != nil || !ap.Addr().Unmap().IsLoopback()
}

// ErrExposed is returned by Serve for a non-loopback address without keys.
var ErrExposed = errors.New("server: refusing to serve without API keys on an address beyond loopback; give keys, or InsecureNoAuth")

// Serve answers requests on l until Drain or Close; it returns nil after
// them. Without keys it refuses an address beyond loopback unless
// InsecureNoAuth.
func (s *Server) Serve(l net.Listener) error {
	if !s.auth && !s.cfg.InsecureNoAuth && Exposed(l.Addr()) {
		return ErrExposed
	}
	var err error
	if s.tls != nil {
		err = s.http.ServeTLS(l, "", "")
	} else {
		err = s.http.Serve(l)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
