package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Service checker limits.
const (
	serviceTimeout = 5.0      // seconds
	maxTimeout     = 60.0     // seconds
	maxTargetLen   = 2048     // bytes of target
	maxDrain       = 64 << 10 // bytes of an HTTP body read (and discarded) before closing
	dnsPort        = "0"      // port a dns check is judged on when the target names none
)

func serviceCheckerSpec() tools.Spec {
	return tools.Spec{
		Name:     "service_checker",
		Category: "system",
		Description: "Checks whether a service answers: a TCP connect, an HTTP(S) GET, or a DNS lookup. " +
			"A service that is down is an answer, not an error: the result says available false, with status and error. " +
			"Bad input and hosts --allow-net does not allow are errors (validation_error, permission_denied); " +
			"the permission is checked before any connection or lookup (without --allow-net, loopback only), so a name " +
			"--allow-net does not list is refused without a DNS query. " +
			"HTTP checks open a fresh connection each time, do not follow redirects unless asked (a redirect is then " +
			"checked against --allow-net like the first request), and read at most 64 KiB of the body. " +
			"A dns check of a name is allowed when --allow-net allows the name (localhost is answered without a lookup: 127.0.0.1 and ::1); " +
			"of an IP address, when an address entry allows it. Without a port in the target, only --allow-net entries that name no port count.",
		Params: []tools.Param{
			{Name: "target", Type: tools.String, Required: true,
				Description: fmt.Sprintf("tcp: host:port (\"127.0.0.1:5432\", \"[::1]:80\"); http/https: a URL, or host[:port][/path] to which the scheme is added; "+
					"dns: a host name (a host:port or URL is reduced to its host) (at most %d bytes)", maxTargetLen)},
			{Name: "check_type", Type: tools.String, Required: true, Enum: []string{"tcp", "http", "https", "dns"},
				Description: "tcp connects; http and https send a GET and judge the status; dns resolves the host name"},
			{Name: "timeout_seconds", Type: tools.Number, Default: serviceTimeout,
				Description: fmt.Sprintf("give up after this many seconds, more than 0 and at most %g; a check that times out is available false with status \"timeout\"; "+
					"the caller's deadline, when sooner, wins and is an error", maxTimeout)},
			{Name: "expected_status", Type: tools.Integer,
				Description: "http/https only: the status code that counts as available (100 to 599); by default any 2xx or 3xx"},
			{Name: "follow_redirects", Type: tools.Boolean, Default: false,
				Description: "http/https only: follow redirects (at most 10, each checked against --allow-net) and judge the final response; by default a redirect is itself the answer"},
		},
		Returns: "{target (as given, a URL password masked), check_type, available, response_time_ms, status, error (null when available)}; status is, for tcp, " +
			"\"open\", \"closed\", \"timeout\" or \"unresolved\", with address (the one connected to); for http/https the status code " +
			"(a number), or \"closed\", \"timeout\", \"unresolved\" or \"error\" when no response came, with location (a redirect's " +
			"Location header, else null) and final_url; for dns \"resolved\", \"timeout\" or \"unresolved\", with addresses [ip]",
		Example: map[string]any{"target": "localhost", "check_type": "dns"},
	}
}

// ServiceChecker returns the service_checker tool. Every connection and
// lookup is checked by cfg.Perm; a nil cfg.Perm refuses them all.
func ServiceChecker(cfg Config) tools.Tool {
	ps := cfg.Perm
	return tools.New(serviceCheckerSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return checkService(ctx, ps, p)
	})
}

func checkService(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	target := strings.TrimSpace(p.String("target"))
	kind := p.String("check_type")
	if len(target) > maxTargetLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "target", len(target), maxTargetLen)
	}
	if target == "" {
		return nil, tools.Invalid("parameter %q: empty target", "target")
	}
	secs := p.Float("timeout_seconds")
	if !(secs > 0 && secs <= maxTimeout) {
		return nil, tools.Invalid("parameter %q: %g is out of range; want more than 0 and at most %g", "timeout_seconds", secs, maxTimeout)
	}
	isHTTP := kind == "http" || kind == "https"
	if !isHTTP {
		for _, name := range []string{"expected_status", "follow_redirects"} {
			if p.Has(name) {
				return nil, tools.Invalid("parameter %q applies to check_type http and https, not %s", name, kind)
			}
		}
	}
	expected := 0
	if p.Has("expected_status") {
		expected = p.Int("expected_status")
		if expected < 100 || expected > 599 {
			return nil, tools.Invalid("parameter %q: %d is not an HTTP status code (100 to 599)", "expected_status", expected)
		}
	}
	t, err := parseTarget(target, kind)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "connect to %s: no network permissions are configured; allow it with --allow-net=%s", t.host, t.host)
	}

	timeout := time.Duration(secs * float64(time.Second))
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := map[string]any{
		"target": t.shown, "check_type": kind, "available": false,
		"response_time_ms": 0.0, "status": nil, "error": nil,
	}
	start := time.Now()
	done := func(status any, elapsed time.Duration, err error) (any, error) {
		res["response_time_ms"] = float64(elapsed.Microseconds()) / 1000
		res["status"] = status
		if err != nil {
			res["error"] = err.Error()
		} else {
			res["available"] = true
		}
		return res, nil
	}
	// failed turns a connection error into the answer (available false)
	// or, for a refused permission or the caller's own deadline, an error.
	failed := func(what string, err error) (any, error) {
		if refused(err) {
			return nil, fmt.Errorf("parameter %q: %w", "target", err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, t.shown, ctxErr(ctx))
		}
		if tctx.Err() != nil {
			return done("timeout", time.Since(start), fmt.Errorf("no answer within %g s", secs))
		}
		return done(what, time.Since(start), err)
	}

	addrs, err := ps.CheckAddr(tctx, net.JoinHostPort(t.host, t.port))
	if err != nil {
		return failed("unresolved", err)
	}
	switch kind {
	case "dns":
		list := make([]any, 0, len(addrs))
		seen := make(map[netip.Addr]bool, len(addrs))
		for _, a := range addrs {
			a = a.Unmap() // the resolver may give IPv4 addresses in IPv6 form
			if !seen[a] {
				seen[a] = true
				list = append(list, a.String())
			}
		}
		res["addresses"] = list
		return done("resolved", time.Since(start), nil)
	case "tcp":
		res["address"] = nil
		conn, err := ps.DialContext(tctx, "tcp", net.JoinHostPort(t.host, t.port))
		if err != nil {
			return failed("closed", err)
		}
		elapsed := time.Since(start)
		res["address"] = conn.RemoteAddr().String()
		conn.Close()
		return done("open", elapsed, nil)
	}

	res["location"] = nil
	res["final_url"] = nil
	client := ps.HTTPClient(timeout)
	if !p.Bool("follow_redirects") {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return nil, tools.Invalid("parameter %q: %v", "target", err)
	}
	req.Close = true // a fresh connection every check; none is left idle
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		status := "error"
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			status = "closed"
		}
		return failed(status, err)
	}
	elapsed := time.Since(start)
	limit := min(int64(maxDrain), ps.Limits().MaxResponseBytes)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	code := resp.StatusCode
	if code >= 300 && code < 400 {
		if loc := resp.Header.Get("Location"); loc != "" {
			res["location"] = loc
		}
	}
	res["final_url"] = resp.Request.URL.Redacted()
	var verr error
	switch {
	case expected != 0 && code != expected:
		verr = fmt.Errorf("status %d, expected %d", code, expected)
	case expected == 0 && (code < 200 || code >= 400):
		verr = fmt.Errorf("status %d, expected 2xx or 3xx", code)
	}
	return done(code, elapsed, verr) // response time: until the response headers
}

type serviceTarget struct {
	host, port string
	url        *url.URL // http and https
	shown      string   // target as reported (URL password redacted)
}

func parseTarget(target, kind string) (serviceTarget, error) {
	t := serviceTarget{shown: target}
	bad := func(format string, args ...any) (serviceTarget, error) {
		return t, tools.Invalid("parameter %q: "+format, append([]any{"target"}, args...)...)
	}
	hasScheme := strings.Contains(target, "://")
	switch {
	case kind == "http" || kind == "https":
		raw := target
		if !hasScheme {
			raw = kind + "://" + target
		}
		u, err := url.Parse(raw)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return bad("invalid URL: %v", err)
		}
		if u.Scheme != kind {
			return bad("scheme %q does not match check_type %s", u.Scheme, kind)
		}
		if u.Hostname() == "" {
			return bad("URL %q has no host", target)
		}
		t.url, t.host, t.port = u, u.Hostname(), u.Port()
		if t.port == "" {
			t.port = map[string]string{"http": "80", "https": "443"}[kind]
		}
		if _, ok := u.User.Password(); ok {
			t.shown = u.Redacted()
		}
	case hasScheme:
		u, err := url.Parse(target)
		if err != nil || u.Hostname() == "" {
			return bad("invalid URL %q", target)
		}
		t.host, t.port = u.Hostname(), u.Port()
		if t.port == "" {
			t.port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if t.port == "" && kind == "tcp" {
			return bad("%q names no port; want host:port for check_type tcp", target)
		}
		if _, ok := u.User.Password(); ok {
			t.shown = u.Redacted()
		}
	case kind == "tcp":
		h, port, err := net.SplitHostPort(target)
		if err != nil {
			return bad("want host:port for check_type tcp, e.g. \"127.0.0.1:8080\", got %q", target)
		}
		t.host, t.port = h, port
	default: // dns
		if h, port, err := net.SplitHostPort(target); err == nil {
			t.host, t.port = h, port
		} else {
			t.host = strings.TrimSuffix(strings.TrimPrefix(target, "["), "]")
		}
	}
	if t.host == "" {
		return bad("%q has no host", target)
	}
	if strings.ContainsAny(t.host, " \t\r\n/\\@?#%\x00") {
		return bad("%q is not a host name or address", t.host)
	}
	if kind == "dns" && t.port == "" {
		t.port = dnsPort
		return t, nil
	}
	n, err := strconv.Atoi(t.port)
	if err != nil || n < 1 || n > 65535 {
		return bad("port %q: want a number from 1 to 65535", t.port)
	}
	return t, nil
}

// ctxErr returns ctx's error, which classifies it as timeout or
// cancelled, with its cause when it has one.
func ctxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return fmt.Errorf("%w (%v)", err, cause)
}
