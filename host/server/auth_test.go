package server_test

import (
	"net"
	"strings"
	"testing"

	"spellhost/host/server"
)

func TestAuth(t *testing.T) {
	ts := start(t, nil)
	cases := []struct {
		name    string
		headers []string
		status  int
		typ     string
	}{
		{"no key", []string{"Authorization", ""}, 401, "unauthorized"},
		{"basic auth", []string{"Authorization", "Basic YWxpY2U6eA=="}, 401, "unauthorized"},
		{"bearer without key", []string{"Authorization", "Bearer "}, 401, "unauthorized"},
		{"unknown key", []string{"Authorization", "Bearer " + strings.Repeat("z", 22)}, 403, "forbidden"},
		{"a key's prefix", []string{"Authorization", "Bearer " + aliceKey[:len(aliceKey)-1]}, 403, "forbidden"},
		{"overlong key", []string{"Authorization", "Bearer " + strings.Repeat("k", 300)}, 401, "unauthorized"},
		{"lower-case scheme", []string{"Authorization", "bearer " + aliceKey}, 200, ""},
		{"X-API-Key", []string{"Authorization", "", "X-API-Key", bobKey}, 200, ""},
		{"unknown X-API-Key", []string{"Authorization", "", "X-API-Key", "not-a-key-at-all-0000"}, 403, "forbidden"},
	}
	for _, c := range cases {
		r := ts.do("GET", "/v1/tools/calculator", "", c.headers...)
		if r.status != c.status || r.errType() != c.typ {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.errType(), c.status, c.typ)
		}
		if c.status == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="spellhost"` {
			t.Errorf("%s: WWW-Authenticate %q", c.name, r.header.Get("WWW-Authenticate"))
		}
	}
	// /metrics needs a key; the probes do not.
	ts.must(ts.do("GET", "/metrics", "", "Authorization", ""), 401, "unauthorized")
	// Keys never reach the log; names do.
	log := ts.log.String()
	if strings.Contains(log, aliceKey) || strings.Contains(log, bobKey) || !strings.Contains(log, `"client":"bob"`) {
		t.Fatalf("the access log shows a key, or not the name:\n%s", log)
	}
}

// TestTwoAuthorizationHeaders: a request with two Authorization headers is
// refused, whatever they hold.
func TestTwoAuthorizationHeaders(t *testing.T) {
	ts := start(t, nil)
	raw := "GET /v1/tools/calculator HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + aliceKey +
		"\r\nAuthorization: Bearer " + bobKey + "\r\nConnection: close\r\n\r\n"
	if head := rawExchange(t, ts.addr, raw); !strings.HasPrefix(head, "HTTP/1.1 401") {
		t.Fatalf("answer %q", head)
	}
}

func TestRateLimit(t *testing.T) {
	ts := start(t, func(c *server.Config) { c.Rate, c.Burst = 0.001, 2 })
	for range 2 {
		ts.must(ts.do("GET", "/v1/tools/calculator", ""), 200, "")
	}
	r := ts.must(ts.do("GET", "/v1/tools/calculator", ""), 429, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Each key has its own bucket.
	ts.must(ts.do("GET", "/v1/tools/calculator", "", "Authorization", "Bearer "+bobKey), 200, "")
	if m := string(ts.do("GET", "/metrics", "", "Authorization", "Bearer "+bobKey).body); !strings.Contains(m, `spellhost_http_rate_limited_total{reason="rate"} 1`) {
		t.Fatalf("metrics miss the refusal")
	}
}

func TestConcurrencyCap(t *testing.T) {
	ts := start(t, func(c *server.Config) { c.MaxConcurrent = 1 })
	done := make(chan reply, 1)
	go func() {
		r, _ := ts.try("POST", "/v1/tools/gate/invoke", `{"gate": "c"}`)
		done <- r
	}()
	wait(t, ts.gates.started, "the first request to be in the tool")
	r := ts.must(ts.do("GET", "/v1/tools", ""), 429, "rate_limited")
	if r.header.Get("Retry-After") != "1" || !strings.Contains(r.env.Error.Message, "alice has 1 requests in progress") {
		t.Fatalf("refusal: %v %s", r.header, r.body)
	}
	ts.must(ts.do("GET", "/v1/tools", "", "Authorization", "Bearer "+bobKey), 200, "") // bob's own cap
	ts.gates.release("c")
	if r := wait(t, done, "the first request"); r.status != 200 {
		t.Fatalf("first request: %d %s", r.status, r.body)
	}
	ts.must(ts.do("GET", "/v1/tools", ""), 200, "")
}

func TestWithoutKeys(t *testing.T) {
	ts := start(t, func(c *server.Config) { c.Keys = nil })
	ts.must(ts.do("GET", "/v1/tools/calculator", "", "Authorization", ""), 200, "")
	if !strings.Contains(ts.log.String(), `"client":"anonymous"`) {
		t.Fatal("requests without keys are not logged as anonymous")
	}
}

// fakeAddr is a listener that claims another address.
type fakeAddr struct {
	net.Listener
	addr net.Addr
}

func (f fakeAddr) Addr() net.Addr { return f.addr }

func TestExposedWithoutKeys(t *testing.T) {
	for addr, exposed := range map[string]bool{
		"127.0.0.1:80": false, "127.9.9.9:1": false, "[::1]:80": false, "[::ffff:127.0.0.1]:80": false,
		"0.0.0.0:80": true, "[::]:80": true, "10.1.2.3:80": true, "192.168.0.1:8080": true,
	} {
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if server.Exposed(ta) != exposed {
			t.Errorf("Exposed(%s) = %v", addr, !exposed)
		}
	}
	ts := start(t, func(c *server.Config) { c.Keys = nil })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wild := fakeAddr{l, &net.TCPAddr{IP: net.IPv4zero, Port: 8080}}
	if err := ts.srv.Serve(wild); err != server.ErrExposed {
		t.Fatalf("Serve on 0.0.0.0 without keys: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	keys, err := server.ParseKeys(strings.NewReader("# comment\n\n  ci:abcdefghijklmnop1234  \nQRSTUVWXYZ012345-_.~+/=\n"), "keys.txt")
	if err != nil || len(keys) != 2 || keys[0].Name != "ci" || keys[0].Secret != "abcdefghijklmnop1234" ||
		keys[1].Name != server.KeyName("QRSTUVWXYZ012345-_.~+/=") || !strings.HasPrefix(keys[1].Name, "key-") {
		t.Fatalf("keys %#v %v", keys, err)
	}
	for text, want := range map[string]string{
		"short123":                         "keys.txt line 1: key of 8 characters is too short",
		"# c\nname:":                       "keys.txt line 2: empty key",
		":abcdefghijklmnop1234":            "line 1: key name",
		"bad name:abcdefghijklmnop1234":    "line 1: key name",
		"abcdefghijklmnop 1234":            "line 1: key has a character outside",
		"x:" + strings.Repeat("a", 300):    "line 1: key of 300 characters is too long",
		"n:abcdefghijklmnop1234\r\nx:\xff": "line 2:",
	} {
		_, err := server.ParseKeys(strings.NewReader(text), "keys.txt")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "abcdefghijklmnop") {
			t.Errorf("%q: the error shows the key: %v", text, err)
		}
	}
	keys, err = server.ParseKeyList(" a:abcdefghijklmnop1234, ,b:abcdefghijklmnop5678", "SPELLHOST_API_KEYS")
	if err != nil || len(keys) != 2 {
		t.Fatalf("list %v %v", keys, err)
	}
	if _, err := server.ParseKeyList("a:abcdefghijklmnop1234,tiny", "SPELLHOST_API_KEYS"); err == nil || !strings.Contains(err.Error(), "SPELLHOST_API_KEYS entry 2") {
		t.Fatalf("list error %v", err)
	}
	if err := server.CheckKeys(append(keys, server.Key{Name: "c", Secret: "abcdefghijklmnop1234"})); err == nil || !strings.Contains(err.Error(), "a and c are the same key") {
		t.Fatalf("duplicate secret: %v", err)
	}
	if err := server.CheckKeys(append(keys, server.Key{Name: "a", Secret: "zzzzzzzzzzzzzzzzzzzz"})); err == nil || !strings.Contains(err.Error(), "name a is given twice") {
		t.Fatalf("duplicate name: %v", err)
	}
	if s := (server.Key{Name: "n", Secret: "secret-secret-secret"}); strings.Contains(s.GoString()+s.String(), "secret") {
		t.Fatal("a Key prints its secret")
	}
}

func FuzzParseKeys(f *testing.F) {
	for _, s := range []string{"a:abcdefghijklmnop1234", "# x\nabcdefghijklmnop1234\n", ":", "a:b:c", "\xff\n", strings.Repeat("k", 257)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := server.ParseKeys(strings.NewReader(text), "f")
		if err != nil {
			return
		}
		for _, k := range keys {
			if len(k.Secret) < server.MinKeyLen || len(k.Secret) > server.MaxKeyLen || k.Name == "" || strings.ContainsAny(k.Secret, " \t\r\n:#") {
				t.Fatalf("accepted %q as %#v", text, k)
			}
		}
	})
}
