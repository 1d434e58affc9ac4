package perm_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"spellhost/tools/perm"
)

// dnsStub is a DNS server on 127.0.0.1 that records every name asked for.
// It answers the names in hosts with their IPv4 address and everything
// else with NXDOMAIN.
type dnsStub struct {
	conn  net.PacketConn
	hosts map[string][4]byte // "name." -> address
	mu    sync.Mutex
	asked []string
	done  chan struct{}
}

func startDNS(t *testing.T, hosts map[string][4]byte) *dnsStub {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsStub{conn: pc, hosts: hosts, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { pc.Close(); <-s.done })
	return s
}

func (s *dnsStub) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.asked = append(s.asked, q.Name.String())
		s.mu.Unlock()
		ip, known := s.hosts[strings.ToLower(q.Name.String())]
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
		if !known {
			rh.RCode = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(nil, rh)
		b.StartQuestions()
		b.Question(q)
		if known && q.Type == dnsmessage.TypeA {
			b.StartAnswers()
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip})
		}
		if msg, err := b.Finish(); err == nil {
			s.conn.WriteTo(msg, from)
		}
	}
}

// names returns the distinct names asked for so far.
func (s *dnsStub) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.asked)
	slices.Sort(out)
	return slices.Compact(out)
}

// count returns how many queries arrived so far.
func (s *dnsStub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.asked)
}

func (s *dnsStub) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
	}}
}

// TestNetRules judges addresses under lists of rules, with a resolver that
// records every query: a refused name is never asked for, nor is
// localhost.
func TestNetRules(t *testing.T) {
	dns := startDNS(t, map[string][4]byte{"ok.test.": {127, 0, 0, 1}, "far.test.": {192, 0, 2, 7}})
	const (
		ok      = "ok"      // allowed, no lookup
		lookup  = "lookup"  // allowed once the name is looked up
		deny    = "denied"  // permission denied, no lookup
		bad     = "invalid" // invalid argument, no lookup
		missing = "nxdomain"
	)
	type probe struct {
		addr  string
		want  string
		addrs string // for ok and lookup: the addresses returned, space-separated
	}
	cases := []struct {
		name   string
		rules  []string
		probes []probe
	}{
		{"no list: loopback only", nil, []probe{
			{"127.0.0.1:80", ok, "127.0.0.1"},
			{"127.5.6.7:1", ok, "127.5.6.7"},
			{"[::1]:80", ok, "::1"},
			{"[::ffff:127.0.0.1]:80", ok, "127.0.0.1"},
			{"localhost:80", ok, "127.0.0.1 ::1"},
			{"LocalHost.:80", ok, "127.0.0.1 ::1"},
			{"0.0.0.0:80", deny, ""},
			{"[::]:80", deny, ""},
			{"[::ffff:0.0.0.0]:80", deny, ""},
			{"10.0.0.1:80", deny, ""},
			{"[::127.0.0.1]:80", deny, ""}, // IPv4-compatible, not loopback
			{"ok.test:80", deny, ""},
			{"7365637265740a.exfil.test:80", deny, ""},
			{"evil.localhost:80", deny, ""},
			{"localhost.evil.test:80", deny, ""},
			{"2130706433:80", bad, ""},
			{"127.1:80", bad, ""},
			{"0x7f.0.0.1:80", bad, ""},
			{"0x7F000001:80", bad, ""},
			{"0177.0.0.1:80", bad, ""},
			{"127.0.0.1.:80", bad, ""},
			{"127.0.0.1:http", bad, ""},
			{"localhost:-1", bad, ""},
			{"127.0.0.1:65536", bad, ""},
			{"a..b:80", bad, ""},
			{"ex ample.test:80", bad, ""},
			{"bücher.test:80", bad, ""},
			{"127.0.0.1", bad, ""},
		}},
		{"exact address and port", []string{"127.0.0.1:8081"}, []probe{
			{"127.0.0.1:8081", ok, "127.0.0.1"},
			{"[::ffff:127.0.0.1]:8081", ok, "127.0.0.1"},
			{"localhost:8081", ok, "127.0.0.1"},
			{"127.0.0.1:8082", deny, ""},
			{"localhost:8082", deny, ""},
			{"127.0.0.2:8081", deny, ""},
			{"[::1]:8081", deny, ""},
			{"0.0.0.0:8081", deny, ""},
			{"ok.test:8081", deny, ""},
		}},
		{"empty list allows nothing", []string{}, []probe{
			{"127.0.0.1:80", deny, ""},
			{"localhost:80", deny, ""},
			{"[::1]:80", deny, ""},
		}},
		{"name", []string{"ok.test", "far.test:443", "gone.test"}, []probe{
			{"ok.test:80", lookup, "127.0.0.1"},
			{"OK.Test.:9", lookup, "127.0.0.1"},
			{"far.test:443", lookup, "192.0.2.7"},
			{"far.test:80", deny, ""},
			{"far.test:0", deny, ""},
			{"gone.test:80", missing, ""},
			{"sub.ok.test:80", deny, ""},
			{"127.0.0.1:80", deny, ""},
			{"localhost:80", deny, ""},
			{"192.0.2.7:443", deny, ""},
		}},
		{"localhost by name", []string{"localhost:8080"}, []probe{
			{"localhost:8080", ok, "127.0.0.1 ::1"},
			{"localhost:8081", deny, ""},
			{"127.0.0.1:8080", deny, ""},
		}},
		{"IPv6 address", []string{"[::1]:8080"}, []probe{
			{"[::1]:8080", ok, "::1"},
			{"localhost:8080", ok, "::1"},
			{"127.0.0.1:8080", deny, ""},
		}},
		{"CIDR", []string{"10.0.0.0/8", "::ffff:192.168.0.0/112"}, []probe{
			{"10.1.2.3:5", ok, "10.1.2.3"},
			{"[::ffff:10.1.2.3]:5", ok, "10.1.2.3"},
			{"192.168.3.4:5", ok, "192.168.3.4"},
			{"192.169.0.1:5", deny, ""},
			{"11.0.0.1:5", deny, ""},
			{"127.0.0.1:5", deny, ""},
			{"ten.test:5", deny, ""},
		}},
		{"star", []string{"*"}, []probe{
			{"127.0.0.1:1", ok, "127.0.0.1"},
			{"0.0.0.0:1", ok, "0.0.0.0"},
			{"far.test:1", lookup, "192.0.2.7"},
			{"localhost:1", ok, "127.0.0.1 ::1"},
			{"127.1:1", bad, ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := perm.New(perm.Config{Base: t.TempDir(), Net: c.rules, Resolver: dns.resolver()})
			must(t, err)
			for _, pr := range c.probes {
				before := dns.count()
				addrs, err := p.CheckAddr(context.Background(), pr.addr)
				asked := dns.count() > before
				var got string
				switch {
				case err == nil:
					got = ok
					if asked {
						got = lookup
					}
				case errors.Is(err, perm.ErrDenied):
					got = deny
					if !strings.Contains(err.Error(), "--allow-net=") {
						t.Errorf("%s: message %q does not name the flag", pr.addr, err)
					}
				case errors.Is(err, perm.ErrInvalid):
					got = bad
				case asked:
					got = missing
				default:
					got = "error: " + err.Error()
				}
				if got != pr.want {
					t.Errorf("CheckAddr(%s) under %q: %s (%v), want %s", pr.addr, c.rules, got, err, pr.want)
					continue
				}
				if pr.want != lookup && pr.want != missing && asked {
					t.Errorf("CheckAddr(%s) under %q asked DNS for %v", pr.addr, c.rules, dns.names())
				}
				if pr.want == ok || pr.want == lookup {
					var shown []string
					for _, a := range addrs {
						shown = append(shown, a.String())
					}
					if strings.Join(shown, " ") != pr.addrs {
						t.Errorf("CheckAddr(%s) = %v, want %s", pr.addr, shown, pr.addrs)
					}
				}
			}
		})
	}
	for _, n := range dns.names() {
		if !slices.Contains([]string{"ok.test.", "far.test.", "gone.test."}, strings.ToLower(n)) {
			t.Errorf("DNS was asked for %s, which no rule allows", n)
		}
	}
}

func TestNetRulesParse(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"", "127.1", "2130706433", "host:http", "host:0", "bücher.test", "*.example.com",
		"a b", "http://x/", "host:99999", "10.0.0.0/8:80", "exa_mple..test"} {
		if _, err := perm.New(perm.Config{Base: dir, Net: []string{bad}}); err == nil || !strings.Contains(err.Error(), "--allow-net") {
			t.Errorf("--allow-net=%s: %v, want an error naming the flag", bad, err)
		}
	}
	for _, good := range []string{"example.com", "Example.COM.", "example.com:443", "10.1.1.1", "10.1.1.1:80", "[::1]:80", "::1",
		"10.0.0.0/8", "fd00::/8", "localhost", "*"} {
		if _, err := perm.New(perm.Config{Base: dir, Net: []string{good}}); err != nil {
			t.Errorf("--allow-net=%s: %v", good, err)
		}
	}
}

// TestNetDial dials through the Set: an allowed name is resolved by the
// configured resolver and its address dialled; the canary listener, on
// another loopback port, is never reached by anything the rules refuse.
func TestNetDial(t *testing.T) {
	dns := startDNS(t, map[string][4]byte{"ok.test.": {127, 0, 0, 1}})
	okLn, canary := listen(t), listen(t)
	okPort, canaryPort := portOf(okLn.Addr()), portOf(canary.Addr())
	p, err := perm.New(perm.Config{Base: t.TempDir(), Net: []string{"127.0.0.1:" + okPort, "ok.test:" + okPort}, Resolver: dns.resolver()})
	must(t, err)
	for _, addr := range []string{"127.0.0.1:" + okPort, "localhost:" + okPort, "ok.test:" + okPort, "[::ffff:127.0.0.1]:" + okPort} {
		c, err := p.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		if got := c.RemoteAddr().String(); got != "127.0.0.1:"+okPort {
			t.Errorf("dial %s reached %s", addr, got)
		}
		c.Close()
	}
	for _, addr := range []string{"127.0.0.1:" + canaryPort, "localhost:" + canaryPort, "ok.test:" + canaryPort,
		"[::ffff:127.0.0.1]:" + canaryPort, "0.0.0.0:" + canaryPort, "canary.test:" + canaryPort} {
		if c, err := p.DialContext(context.Background(), "tcp", addr); !isDenied(err) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s: %v, want permission denied", addr, err)
		}
	}
	if _, err := p.DialContext(context.Background(), "udp", "127.0.0.1:"+okPort); !errors.Is(err, perm.ErrInvalid) {
		t.Errorf("udp: %v, want invalid", err)
	}
	if _, err := p.DialContext(context.Background(), "tcp6", "127.0.0.1:"+okPort); err == nil {
		t.Error("tcp6 dialled an IPv4 address")
	}
	if n := canary.accepted.Load(); n != 0 {
		t.Errorf("the canary accepted %d connections", n)
	}
	if got := dns.names(); !slices.Equal(got, []string{"ok.test."}) {
		t.Errorf("DNS was asked for %v, want only ok.test.", got)
	}
}

// TestNetRedirects follows redirects with the Set's HTTP client: one to a
// refused port or name is refused before any connection or lookup, and
// proxy settings from the environment are ignored.
func TestNetRedirects(t *testing.T) {
	dns := startDNS(t, nil)
	var canaryHits atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canaryHits.Add(1)
		io.WriteString(w, "canary")
	}))
	defer canary.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	// A proxy the client must not use: it is the canary.
	t.Setenv("HTTP_PROXY", canary.URL)
	t.Setenv("http_proxy", canary.URL)
	p, err := perm.New(perm.Config{Base: t.TempDir(), Net: []string{srv.Listener.Addr().String()}, Resolver: dns.resolver()})
	must(t, err)
	defer p.CloseIdle()
	client := p.HTTPClient(0)
	get := func(u string) (string, error) {
		resp, err := client.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(srv.URL + "/?to=/"); err != nil || body != "ok" {
		t.Fatalf("redirect within the allowed server: %q %v", body, err)
	}
	canaryPort := portOf(canary.Listener.Addr())
	for _, to := range []string{
		canary.URL + "/",
		"http://localhost:" + canaryPort + "/",
		"http://[::1]:" + canaryPort + "/",
		"http://6c65616b.exfil.test:" + portOf(srv.Listener.Addr()) + "/",
		"http://" + srv.Listener.Addr().String() + "@evil.test/",
		"http://0.0.0.0:" + canaryPort + "/",
		"http://2130706433:" + canaryPort + "/",
	} {
		_, err := get(srv.URL + "/?to=" + to)
		if err == nil || !(isDenied(err) || errors.Is(err, perm.ErrInvalid)) {
			t.Errorf("redirect to %s: %v, want refused", to, err)
		}
	}
	if n := canaryHits.Load(); n != 0 {
		t.Errorf("the canary was reached %d times", n)
	}
	if q := dns.names(); len(q) != 0 {
		t.Errorf("DNS was asked for %v", q)
	}
}

type countingListener struct {
	net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

// listen opens a loopback listener that counts and closes what it accepts.
func listen(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{Listener: ln, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-l.done })
	return l
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}
