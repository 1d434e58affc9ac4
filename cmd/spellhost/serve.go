package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"spellhost/host/exitcode"
	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/server"
	"spellhost/host/task"
	"spellhost/tools/builtin"
)

const serveUsage = `Usage: spellhost serve [flags]

Runs the kernel as an HTTP/JSON service. POST /v1/request takes any
protocol request; REST routes list, describe and invoke tools and submit,
follow (server-sent events), list and cancel tasks; /healthz, /readyz and
/metrics (Prometheus) serve probes and scrapes. The README has a curl
line for each route.

API keys come from --api-keys-file (one a line, KEY or NAME:KEY, # for
comments) and SPELLHOST_API_KEYS (comma-separated), sent as
"Authorization: Bearer KEY" or "X-API-Key: KEY": missing is 401, unknown
403. There is no default key. Without keys the server listens on a
loopback address only, unless --insecure-no-auth.

Tools run under this server's --allow-* flags (default: read the current
folder, write a scratch folder, reach loopback only); a client cannot
widen them. Tasks live in NATS JetStream (--task-backend=jetstream, the
default): on disk under --data-dir with an embedded server, or in the
cluster of --nats, so queued and running tasks survive a restart, and
spellhost worker processes on other machines can share them (give the
embedded server --nats-listen, or use a cluster). --task-backend=memory
keeps them in memory, lost at exit.

SIGTERM or SIGINT drains: /readyz turns 503, new requests get 503,
requests in flight finish within --drain-timeout; in-memory tasks are
cancelled ("server shutting down"), durable ones stay queued (the
server's own attempts finish within --drain-timeout or go back to the
queue). A second signal stops at once.

Exit codes: 0 stopped by a signal after a clean drain; 1 the server failed
(address in use, TLS files) or the drain overran --drain-timeout; 2 bad
flags or keys, or a non-loopback --addr without keys; 105 a second signal
cut the drain short.
`

type serveFlags struct {
	addr                                         string
	keysFile                                     string
	insecure                                     bool
	rate                                         float64
	burst, maxConcurrent                         int
	maxRequest                                   string
	toolTimeout, requestTimeout                  string
	readHeaderTimeout, readTimeout, writeTimeout string
	idleTimeout, drainTimeout, heartbeat         string
	tlsCert, tlsKey                              string
	logFormat                                    string
	accessLog                                    bool
	faults                                       []string
	seed                                         uint64
	taskWorkers, taskQueue, taskKeep             int
	taskRate                                     float64
	taskTimeout, taskKeepFor                     string
	perms                                        permFlags
	store                                        storeFlags
}

func (sf *serveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&sf.addr, "addr", "127.0.0.1:8080", "address to listen on, HOST:PORT (port 0 picks a free one)")
	fs.StringVar(&sf.keysFile, "api-keys-file", "", "file of API keys, one a line: KEY or NAME:KEY (also "+keysEnv+", comma-separated)")
	fs.BoolVar(&sf.insecure, "insecure-no-auth", false, "serve without API keys on a non-loopback address, and the embedded NATS port of --nats-listen without a token (anyone who reaches them can run every allowed tool)")
	fs.Float64Var(&sf.rate, "rate", 0, "requests per second allowed to each key (0: no limit); over it answers 429 with Retry-After")
	fs.IntVar(&sf.burst, "burst", 0, "requests a key may send at once above --rate (default max(1, rate))")
	fs.IntVar(&sf.maxConcurrent, "max-concurrent", server.DefaultMaxConcurrent, "requests in progress allowed to each key, event streams included (-1: no cap); over it answers 429")
	fs.StringVar(&sf.maxRequest, "max-request-size", humanize.IBytes(kernel.DefaultMaxRequestBytes), "largest request body; larger ones answer 413 unread")
	fs.StringVar(&sf.toolTimeout, "tool-timeout", kernel.DefaultTimeout.String(), "timeout of a tool call that names none")
	fs.StringVar(&sf.requestTimeout, "request-timeout", server.DefaultRequestTimeout.String(), "longest a protocol request or an invoke with ?timeout= may take (a client's longer timeout is cut to it: 504)")
	fs.StringVar(&sf.readHeaderTimeout, "read-header-timeout", server.DefaultReadHeaderTimeout.String(), "time to receive a request's headers; a slower client is disconnected")
	fs.StringVar(&sf.readTimeout, "read-timeout", server.DefaultReadTimeout.String(), "time to receive a whole request, headers and body (408 when the body is late)")
	fs.StringVar(&sf.writeTimeout, "write-timeout", "0", "time for a whole exchange, reply written (0: read-timeout + the longer of request-timeout and tool-timeout + 5s); event streams renew it per event")
	fs.StringVar(&sf.idleTimeout, "idle-timeout", server.DefaultIdleTimeout.String(), "how long a kept-alive connection may wait for its next request")
	fs.StringVar(&sf.drainTimeout, "drain-timeout", server.DefaultDrainTimeout.String(), "how long requests in flight may take to finish after SIGTERM or SIGINT")
	fs.StringVar(&sf.heartbeat, "heartbeat", server.DefaultHeartbeat.String(), "interval of the comment lines that keep an event stream alive")
	fs.StringVar(&sf.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	fs.StringVar(&sf.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&sf.logFormat, "log-format", "json", "log and access-log format on stderr: json or text")
	fs.BoolVar(&sf.accessLog, "access-log", true, "log one record per request (id, route, status, bytes, time, key name; never the key)")
	fs.StringArrayVar(&sf.faults, "fault", nil, "enable a fault rule, TARGET=TERMS, as 'net:server=10%drop' or 'tool:calculator=error' (repeatable; also "+faultsEnv+", rules separated by spaces)")
	fs.Uint64Var(&sf.seed, "seed", 1, "seed of the fault rules' probabilities and the task backoff jitter, so a run repeats")
	fs.IntVar(&sf.taskWorkers, "task-workers", task.DefaultWorkers, "tasks this server runs at once (0 with --task-backend=jetstream: none, spellhost worker processes run them)")
	fs.IntVar(&sf.taskQueue, "task-queue", task.DefaultQueueCap, "tasks queued or waiting to retry; a submission beyond answers 503 queue_full")
	fs.Float64Var(&sf.taskRate, "task-rate", 0, "task attempts started per minute (0: no limit)")
	fs.StringVar(&sf.taskTimeout, "task-timeout", task.DefaultTimeout.String(), "timeout of a task attempt that names none")
	fs.IntVar(&sf.taskKeep, "task-keep", task.DefaultMaxFinished, "finished tasks kept for status and listing")
	fs.StringVar(&sf.taskKeepFor, "task-keep-for", task.DefaultMaxAge.String(), "how long a finished task is kept")
	sf.perms.register(fs)
	sf.store.register(fs)
}

// keysEnv holds API keys, comma-separated.
const keysEnv = "SPELLHOST_API_KEYS"

func serveCmd(gs *globalState, args []string) error {
	fs := newFlags(gs, "serve", serveUsage)
	var sf serveFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("serve takes no arguments, got %q", fs.Arg(0))
	}
	cfg, kcfg, drainTimeout, err := sf.config(gs)
	if err != nil {
		return err
	}
	if len(cfg.Keys) == 0 && !cfg.InsecureNoAuth && exposedAddr(sf.addr) {
		return usageErr("--addr %s is not a loopback address: give API keys (--api-keys-file or %s), or --insecure-no-auth to serve without", sf.addr, keysEnv)
	}
	log := cfg.Log

	wd, err := gs.getwd()
	if err != nil {
		return err
	}
	sess, err := sf.perms.build(gs, wd)
	if err != nil {
		return err
	}
	defer sess.close()
	reg, err := builtin.NewRegistry(sess.cfg)
	if err != nil {
		return err
	}
	faults := fault.New(sf.seed)
	defer faults.Close()
	rules, err := faultRules(gs, sf.faults)
	if err != nil {
		return err
	}
	for _, a := range rules {
		sp, _ := fault.ParseAssignment(a)
		if err := faults.Enable(sp); err != nil {
			return usageErr("--fault %s: %v", a, err)
		}
	}
	kcfg.Faults = faults
	if err := sf.store.configure(gs, sess, &kcfg, drainTimeout); err != nil {
		return err
	}
	k := kernel.New(reg, kcfg)
	defer k.Close()
	if err := sf.store.start(k); err != nil {
		return err
	}
	cfg.Kernel = k
	srv, err := server.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}

	l, err := net.Listen("tcp", sf.addr)
	if err != nil {
		return exitcode.WithCodeIfNone(fmt.Errorf("listen: %w", err), exitcode.Failure)
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	log.Info("listening", slog.String("url", scheme+"://"+l.Addr().String()), slog.Int("keys", len(cfg.Keys)),
		slog.Int("tools", reg.Len()), slog.Int("fault_rules", len(rules)))
	if len(cfg.Keys) == 0 {
		log.Warn("serving without API keys: anyone who can reach " + l.Addr().String() + " can run every allowed tool")
	}

	sigs := make(chan os.Signal, 2)
	gs.notify(sigs)
	defer gs.stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	var sig os.Signal
	select {
	case err := <-served:
		if errors.Is(err, server.ErrExposed) {
			return usageErr("%v", err)
		}
		return exitcode.WithCodeIfNone(fmt.Errorf("serve: %w", err), exitcode.Failure)
	case sig = <-sigs:
	}
	log.Info("stopping", slog.String("signal", sig.String()), slog.Duration("drain_timeout", drainTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Drain(ctx) }()
	var derr error
	select {
	case derr = <-drained:
	case <-sigs:
		cancel()
		srv.Close()
		<-drained
		<-served
		return exitcode.WithCodeIfNone(errors.New("interrupted twice: connections closed without waiting"), exitcode.Interrupted)
	}
	if err := <-served; err != nil && derr == nil {
		derr = err
	}
	if derr != nil {
		return exitcode.WithCodeIfNone(derr, exitcode.Failure)
	}
	log.Info("stopped")
	return nil
}

// config turns the flags into the server's and the kernel's settings.
func (sf *serveFlags) config(gs *globalState) (server.Config, kernel.Options, time.Duration, error) {
	var cfg server.Config
	var kcfg kernel.Options
	dur := func(flag, v string, positive bool) (time.Duration, error) {
		d, err := kernel.ParseDuration(v)
		if err != nil || positive && d <= 0 {
			return 0, usageErr("--%s=%s: want a positive duration such as 30s", flag, v)
		}
		return d, nil
	}
	var err error
	durations := []struct {
		flag, val string
		dst       *time.Duration
		positive  bool
	}{
		{"tool-timeout", sf.toolTimeout, &kcfg.DefaultTimeout, true},
		{"request-timeout", sf.requestTimeout, &cfg.RequestTimeout, true},
		{"read-header-timeout", sf.readHeaderTimeout, &cfg.ReadHeaderTimeout, true},
		{"read-timeout", sf.readTimeout, &cfg.ReadTimeout, true},
		{"write-timeout", sf.writeTimeout, &cfg.WriteTimeout, false},
		{"idle-timeout", sf.idleTimeout, &cfg.IdleTimeout, true},
		{"heartbeat", sf.heartbeat, &cfg.Heartbeat, true},
		{"task-timeout", sf.taskTimeout, &kcfg.Tasks.DefaultTimeout, true},
		{"task-keep-for", sf.taskKeepFor, &kcfg.Tasks.MaxAge, true},
	}
	for _, d := range durations {
		if *d.dst, err = dur(d.flag, d.val, d.positive); err != nil {
			return cfg, kcfg, 0, err
		}
	}
	drain, err := dur("drain-timeout", sf.drainTimeout, true)
	if err != nil {
		return cfg, kcfg, 0, err
	}
	maxRequest, err := humanize.ParseBytes(sf.maxRequest)
	if err != nil || maxRequest == 0 || maxRequest > 1<<34 {
		return cfg, kcfg, 0, usageErr("--max-request-size=%s: want a size such as 64MiB", sf.maxRequest)
	}
	kcfg.MaxRequestBytes = int(maxRequest)
	switch {
	case sf.rate < 0 || sf.rate != sf.rate:
		return cfg, kcfg, 0, usageErr("--rate=%v: want 0 (no limit) or requests per second above 0", sf.rate)
	case sf.burst < 0:
		return cfg, kcfg, 0, usageErr("--burst=%d: want 0 (default) or more", sf.burst)
	case sf.maxConcurrent == 0 || sf.maxConcurrent < -1:
		return cfg, kcfg, 0, usageErr("--max-concurrent=%d: want 1 or more, or -1 for no cap", sf.maxConcurrent)
	case sf.taskQueue < 1 || sf.taskKeep < 1:
		return cfg, kcfg, 0, usageErr("--task-queue and --task-keep: want 1 or more")
	case sf.taskRate < 0 || sf.taskRate != sf.taskRate:
		return cfg, kcfg, 0, usageErr("--task-rate=%v: want 0 (no limit) or attempts per minute above 0", sf.taskRate)
	case sf.store.checkWith(gs, sf.insecure, sf.taskWorkers) != nil:
		return cfg, kcfg, 0, sf.store.check(sf.taskWorkers)
	case (sf.tlsCert == "") != (sf.tlsKey == ""):
		return cfg, kcfg, 0, usageErr("--tls-cert and --tls-key go together")
	}
	kcfg.Tasks.Workers, kcfg.Tasks.QueueCap, kcfg.Tasks.MaxFinished = sf.taskWorkers, sf.taskQueue, sf.taskKeep
	kcfg.Tasks.RatePerMinute, kcfg.Tasks.Seed = sf.taskRate, sf.seed

	var handler slog.Handler
	switch sf.logFormat {
	case "json":
		handler = slog.NewJSONHandler(gs.stderr, nil)
	case "text":
		handler = slog.NewTextHandler(gs.stderr, nil)
	default:
		return cfg, kcfg, 0, usageErr("--log-format=%s: want json or text", sf.logFormat)
	}
	cfg.Log = slog.New(handler)

	keys, err := sf.keys(gs, cfg.Log)
	if err != nil {
		return cfg, kcfg, 0, err
	}
	cfg.Keys, cfg.InsecureNoAuth = keys, sf.insecure
	cfg.Rate, cfg.Burst, cfg.MaxConcurrent = sf.rate, sf.burst, sf.maxConcurrent
	cfg.MaxBodyBytes = int64(maxRequest)
	cfg.TLSCertFile, cfg.TLSKeyFile = sf.tlsCert, sf.tlsKey
	cfg.AccessLog = sf.accessLog
	return cfg, kcfg, drain, nil
}

// keys reads the API keys of --api-keys-file and SPELLHOST_API_KEYS.
func (sf *serveFlags) keys(gs *globalState, log *slog.Logger) ([]server.Key, error) {
	var keys []server.Key
	if sf.keysFile != "" {
		f, err := os.Open(sf.keysFile)
		if err != nil {
			return nil, usageErr("--api-keys-file: %v", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the API key file is readable by other users; chmod 600 it", slog.String("file", sf.keysFile))
		}
		fk, err := server.ParseKeys(f, sf.keysFile)
		if err != nil {
			return nil, usageErr("--api-keys-file: %v", err)
		}
		if len(fk) == 0 {
			return nil, usageErr("--api-keys-file %s: no keys in it", sf.keysFile)
		}
		keys = append(keys, fk...)
	}
	if v, ok := gs.lookupEnv(keysEnv); ok && strings.TrimSpace(v) != "" {
		ek, err := server.ParseKeyList(v, keysEnv)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		keys = append(keys, ek...)
	}
	if err := server.CheckKeys(keys); err != nil {
		return nil, usageErr("%v", err)
	}
	return keys, nil
}

// exposedAddr reports whether HOST:PORT listens beyond loopback. Names
// other than localhost count as exposed: they are not looked up.
func exposedAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.Unmap().IsLoopback()
}

// faultRules gathers the rules of SPELLHOST_FAULTS then --fault, checking
// each so a typo is a usage error before anything starts.
func faultRules(gs *globalState, flags []string) ([]string, error) {
	var rules []string
	if v, ok := gs.lookupEnv(faultsEnv); ok {
		for _, a := range strings.Fields(v) {
			if _, err := fault.ParseAssignment(a); err != nil {
				return nil, usageErr("%s: %v", faultsEnv, err)
			}
			rules = append(rules, a)
		}
	}
	for _, a := range flags {
		if _, err := fault.ParseAssignment(a); err != nil {
			return nil, usageErr("--fault: %v", err)
		}
		rules = append(rules, a)
	}
	return rules, nil
}
