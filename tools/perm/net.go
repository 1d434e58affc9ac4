package perm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

var execLookPath = exec.LookPath

// netRules is the parsed --allow-net list. Loopback is always allowed.
type netRules struct {
	all      bool
	names    []hostRule // by name, lowercased
	prefixes []prefixRule
}

type hostRule struct {
	host string
	port int // 0: any
}

type prefixRule struct {
	prefix netip.Prefix
	port   int
}

func parseNet(entries []string) (netRules, error) {
	var r netRules
	for _, e := range entries {
		if e == "" {
			return r, errors.New("--allow-net: empty entry")
		}
		if e == "*" {
			r.all = true
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			r.prefixes = append(r.prefixes, prefixRule{p.Masked(), 0})
			continue
		}
		host, port := e, 0
		if h, ps, err := net.SplitHostPort(e); err == nil {
			n, perr := strconv.Atoi(ps)
			if perr != nil || n < 1 || n > 65535 {
				return r, fmt.Errorf("--allow-net=%s: bad port %q", e, ps)
			}
			host, port = h, n
		} else if strings.Count(e, ":") == 1 {
			return r, fmt.Errorf("--allow-net=%s: %w", e, err)
		}
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			r.prefixes = append(r.prefixes, prefixRule{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()), port})
			continue
		}
		if strings.ContainsAny(host, " /\\@?#") {
			return r, fmt.Errorf("--allow-net=%s: not a host name, address or CIDR", e)
		}
		r.names = append(r.names, hostRule{strings.ToLower(strings.TrimSuffix(host, ".")), port})
	}
	return r, nil
}

func (r *netRules) nameAllowed(host string, port int) bool {
	if r.all {
		return true
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range r.names {
		if n.host == h && (n.port == 0 || n.port == port) {
			return true
		}
	}
	return false
}

func (r *netRules) addrAllowed(ip netip.Addr, port int) bool {
	ip = ip.Unmap()
	if r.all || ip.IsLoopback() {
		return true
	}
	for _, p := range r.prefixes {
		if p.prefix.Contains(ip) && (p.port == 0 || p.port == port) {
			return true
		}
	}
	return false
}

// DialContext connects like net.Dialer.DialContext, but only to allowed
// addresses: the host must be allowed by name, or every address it is
// dialled at must be allowed (loopback always is). Names are resolved here
// and the checked address is dialled, so a second lookup cannot change it.
func (s *Set) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ips, port, err := s.resolveNet(ctx, addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{}
	var first error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// CheckAddr checks that host:port may be reached and returns the addresses
// that may be dialled.
func (s *Set) CheckAddr(ctx context.Context, addr string) ([]netip.Addr, error) {
	ips, _, err := s.resolveNet(ctx, addr)
	return ips, err
}

func (s *Set) resolveNet(ctx context.Context, addr string) ([]netip.Addr, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil {
		p, lerr := s.dns.LookupPort(ctx, "tcp", ps)
		if lerr != nil {
			return nil, 0, fmt.Errorf("address %q: bad port", addr)
		}
		port = p
	}
	byName := s.net.nameAllowed(host, port)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		found, err := s.dns.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, 0, fmt.Errorf("resolve %s: %w", host, err)
		}
		ips = found
	}
	if byName {
		return ips, port, nil
	}
	allowed := ips[:0:0]
	for _, ip := range ips {
		if s.net.addrAllowed(ip, port) {
			allowed = append(allowed, ip)
		}
	}
	if len(allowed) == 0 {
		shown := host
		if len(ips) > 0 && ips[0].String() != host {
			shown = fmt.Sprintf("%s (%s)", host, ips[0])
		}
		return nil, 0, denied("connect to %s port %d: not allowed; allow it with --allow-net=%s",
			shown, port, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return allowed, port, nil
}

// MaxRedirects is how many redirects the HTTP client follows.
const MaxRedirects = 10

// HTTPClient returns a client whose every connection, redirects included,
// passes DialContext's checks. It ignores proxy settings from the
// environment. Clients of one Set share a connection pool.
func (s *Set) HTTPClient(timeout time.Duration) *http.Client {
	s.trOnce.Do(s.initTransport)
	return &http.Client{
		Transport: s.tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return denied("redirect to %s: only http and https are allowed", req.URL.Redacted())
			}
			return nil
		},
	}
}

func (s *Set) initTransport() {
	s.tr = &http.Transport{
		DialContext:           s.DialContext,
		Proxy:                 nil,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0,
		ForceAttemptHTTP2:     true,
	}
}

// CloseIdle closes the idle connections of s's HTTP clients; the kernel
// calls it on shutdown so no keep-alive goroutine outlives it.
func (s *Set) CloseIdle() {
	s.trOnce.Do(s.initTransport)
	s.tr.CloseIdleConnections()
}
