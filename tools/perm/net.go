package perm

// Network permissions.
//
// Without a list (Config.Net nil) tools may reach loopback only: any
// address of 127.0.0.0/8 or ::1 (IPv4-mapped forms included) and the name
// localhost. A list is exact: it allows what it names and nothing else,
// loopback included.
//
// A host name is judged by the list before anything is looked up: a name
// the list does not allow by name is refused without a DNS query, so a
// script cannot leak data through the names it asks for. Address entries
// (an IP or a CIDR) allow IP literals only; an allowed name may be dialled
// at every address it resolves to (allowing a name trusts its DNS
// answers). localhost is never looked up: it stands for 127.0.0.1 and ::1.
// Ports are numbers; service names ("http") are refused, not looked up.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// netRules is the parsed --allow-net list.
type netRules struct {
	loopback bool // no list was given: loopback only
	all      bool // "*"
	names    []hostRule
	prefixes []prefixRule
}

type hostRule struct {
	host string // lowercase, no trailing dot
	port int    // 0: any
}

type prefixRule struct {
	prefix netip.Prefix // IPv4 ranges in IPv4 form
	port   int          // 0: any
}

// localhostAddrs are what the name localhost stands for, in dialling order.
var localhostAddrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}

func parseNet(entries []string) (netRules, error) {
	if entries == nil {
		return netRules{loopback: true}, nil
	}
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
			r.prefixes = append(r.prefixes, prefixRule{unmapPrefix(p), 0})
			continue
		}
		host, port := e, 0
		if h, ps, err := net.SplitHostPort(e); err == nil {
			n, perr := parsePort(ps)
			if perr != nil || n == 0 {
				return r, fmt.Errorf("--allow-net=%s: bad port %q; want a number from 1 to 65535", e, ps)
			}
			host, port = h, n
		} else if strings.Count(e, ":") == 1 {
			return r, fmt.Errorf("--allow-net=%s: %w", e, err)
		}
		if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
			ip = ip.WithZone("").Unmap()
			r.prefixes = append(r.prefixes, prefixRule{netip.PrefixFrom(ip, ip.BitLen()), port})
			continue
		}
		name, err := hostName(host)
		if err != nil {
			return r, fmt.Errorf("--allow-net=%s: %w", e, err)
		}
		r.names = append(r.names, hostRule{name, port})
	}
	return r, nil
}

// unmapPrefix writes an IPv4-mapped range (::ffff:10.0.0.0/104) in IPv4
// form (10.0.0.0/8), as addresses are compared unmapped.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// parsePort reads a decimal port, 0 to 65535. Service names are refused:
// looking them up could ask a resolver.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a port number")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, errors.New("port out of range")
	}
	return n, nil
}

// hostName checks that host is a DNS name and returns it lowercase,
// without a trailing dot. Names that read as numbers ("127.1",
// "2130706433", "0x7f.0.0.1") are refused: some resolvers take them for
// IPv4 addresses, so they would slip past the address entries.
func hostName(host string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || len(h) > 253 {
		return "", fmt.Errorf("%q is not a host name", host)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a host name (empty or long label)", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 0x80 {
				return "", fmt.Errorf("%q: write an internationalized name in its ASCII (xn--) form", host)
			}
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name (character %q)", host, c)
			}
		}
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	digits := strings.TrimLeft(last, "0123456789") == ""
	hex := strings.HasPrefix(last, "0x") && strings.TrimLeft(last[2:], "0123456789abcdef") == ""
	if digits || hex {
		return "", fmt.Errorf("%q reads as a number; write an IPv4 address as four decimal numbers (127.0.0.1)", host)
	}
	return h, nil
}

func (r *netRules) nameAllowed(name string, port int) bool {
	if r.all || r.loopback && name == "localhost" {
		return true
	}
	for _, n := range r.names {
		if n.host == name && (n.port == 0 || n.port == port) {
			return true
		}
	}
	return false
}

func (r *netRules) addrAllowed(ip netip.Addr, port int) bool {
	ip = ip.WithZone("").Unmap()
	if r.all || r.loopback && ip.IsLoopback() {
		return true
	}
	for _, p := range r.prefixes {
		if p.prefix.Contains(ip) && (p.port == 0 || p.port == port) {
			return true
		}
	}
	return false
}

// dest is a destination the rules allow: the addresses to dial, or an
// allowed name still to be resolved.
type dest struct {
	name  string       // set when addrs is nil
	port  int          // 0 when none was given (a dns check)
	addrs []netip.Addr // unmapped
}

// judge decides whether addr (host:port) may be reached, without any
// lookup. Port 0 stands for "no port": only entries without a port allow
// it.
func (s *Set) judge(addr string) (dest, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return dest{}, invalid("address %q: %v", addr, err)
	}
	port, err := parsePort(ps)
	if err != nil {
		return dest{}, invalid("address %q: port %q is not a number from 0 to 65535", addr, ps)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		if s.all || s.net.addrAllowed(ip, port) {
			return dest{port: port, addrs: []netip.Addr{ip}}, nil
		}
		return dest{}, s.netDenied(host, port)
	}
	name, err := hostName(host)
	if err != nil {
		return dest{}, invalid("connect to %s: %v", host, err)
	}
	allowed := s.all || s.net.nameAllowed(name, port)
	if name == "localhost" {
		var addrs []netip.Addr
		for _, ip := range localhostAddrs {
			if allowed || s.net.addrAllowed(ip, port) {
				addrs = append(addrs, ip)
			}
		}
		if len(addrs) > 0 {
			return dest{port: port, addrs: addrs}, nil
		}
	} else if allowed {
		return dest{name: name, port: port}, nil
	}
	return dest{}, s.netDenied(name, port)
}

func (s *Set) netDenied(host string, port int) error {
	flag := host
	if port != 0 {
		flag = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		flag = "[" + host + "]"
	}
	what := host
	if port != 0 {
		what += " port " + strconv.Itoa(port)
	}
	why := "not in the --allow-net list"
	if s.net.loopback {
		why = "only loopback is allowed without --allow-net"
	}
	return denied("connect to %s: %s; allow it with --allow-net=%s", what, why, flag)
}

// lookup returns the addresses of an allowed destination, asking the
// resolver for an allowed name.
func (s *Set) lookup(ctx context.Context, d dest) ([]netip.Addr, error) {
	if d.addrs != nil {
		return d.addrs, nil
	}
	found, err := s.dns.LookupNetIP(ctx, "ip", d.name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", d.name, err)
	}
	out := make([]netip.Addr, 0, len(found))
	for _, ip := range found {
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		out = append(out, ip)
	}
	return out, nil
}

// noLookups is the dialer's resolver. The dialer is only ever given IP
// addresses; should a name reach it, it fails instead of asking the
// system's resolver.
var noLookups = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("perm: the dialer resolves no names")
}}

// DialContext connects like net.Dialer.DialContext, but only where the
// rules allow: the host is judged before any lookup, an allowed name is
// resolved through Config.Resolver, and the checked addresses are
// dialled, so a second lookup cannot change them. network is tcp, tcp4
// or tcp6.
func (s *Set) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, invalid("connect to %s: network %q is not supported; want tcp", addr, network)
	}
	d, err := s.judge(addr)
	if err != nil {
		return nil, err
	}
	ips, err := s.lookup(ctx, d)
	if err != nil {
		return nil, err
	}
	dialer := net.Dialer{Resolver: noLookups}
	var first error
	for _, ip := range ips {
		if network == "tcp4" && !ip.Is4() || network == "tcp6" && !ip.Is6() {
			continue
		}
		c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), strconv.Itoa(d.port)))
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
	if first == nil {
		first = fmt.Errorf("connect to %s: no %s address", addr, network)
	}
	return nil, first
}

// CheckAddr checks that host:port may be reached and returns the addresses
// that may be dialled. A name is looked up only once the rules allow it.
// Port 0 means "any port": only entries without a port allow it.
func (s *Set) CheckAddr(ctx context.Context, addr string) ([]netip.Addr, error) {
	d, err := s.judge(addr)
	if err != nil {
		return nil, err
	}
	return s.lookup(ctx, d)
}

// MaxRedirects is how many redirects the HTTP client follows.
const MaxRedirects = 10

// HTTPClient returns a client whose every connection passes DialContext's
// checks; a redirect is judged before it is followed, so one to a refused
// name is refused without a lookup. It ignores proxy settings from the
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
			u := req.URL
			port := u.Port()
			switch {
			case u.Scheme != "http" && u.Scheme != "https":
				return denied("redirect to %s: only http and https are allowed", u.Redacted())
			case port == "" && u.Scheme == "http":
				port = "80"
			case port == "":
				port = "443"
			}
			if _, err := s.judge(net.JoinHostPort(u.Hostname(), port)); err != nil {
				return fmt.Errorf("redirect to %s: %w", u.Redacted(), err)
			}
			return nil
		},
	}
}

func (s *Set) initTransport() {
	s.tr = &http.Transport{
		DialContext:           s.DialContext,
		Proxy:                 nil, // never a proxy from the environment
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
