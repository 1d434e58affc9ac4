package vuhttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"spellhost/host/vuhttp"
	"spellhost/tools/perm"
)

// redirector serves /hop/N, which redirects to /hop/N-1 down to /hop/0,
// which answers with the method and body it got; /to?url=U redirects to
// U with the status in ?code (default 302).
func redirector(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to" {
			code, _ := strconv.Atoi(r.URL.Query().Get("code"))
			if code == 0 {
				code = 302
			}
			http.Redirect(w, r, r.URL.Query().Get("url"), code)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n > 0 {
			http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), 302)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte(r.Method + " " + string(b)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRedirects(t *testing.T) {
	srv := redirector(t)
	c := client(t, vuhttp.Config{})

	r := get(t, c, srv.URL+"/hop/3")
	if r.Err != nil || r.Status != 200 || string(r.Body) != "GET " || r.URL != srv.URL+"/hop/0" {
		t.Fatalf("followed: err %v status %d body %q url %q", r.Err, r.Status, r.Body, r.URL)
	}
	if len(r.Hops) != 3 {
		t.Fatalf("%d hops, want 3", len(r.Hops))
	}
	for i, h := range r.Hops {
		if h.Status != 302 || h.URL != srv.URL+"/hop/"+strconv.Itoa(3-i) || h.Method != "GET" || !h.Expected || h.ErrorCode != 0 {
			t.Errorf("hop %d: %+v", i, h)
		}
		checkTimings(t, "hop", h.Timings)
	}

	// Out of redirects: the last redirect response is the response.
	r = do(t, c, &vuhttp.Request{URL: srv.URL + "/hop/3", Redirects: 1})
	if r.Err != nil || r.Status != 302 || len(r.Hops) != 1 || r.URL != srv.URL+"/hop/2" {
		t.Fatalf("one redirect: err %v status %d hops %d url %q", r.Err, r.Status, len(r.Hops), r.URL)
	}
	r = do(t, c, &vuhttp.Request{URL: srv.URL + "/hop/3", Redirects: vuhttp.NoRedirects})
	if r.Status != 302 || len(r.Hops) != 0 || r.HeaderValue("Location") != "/hop/2" {
		t.Fatalf("no redirects: status %d hops %d", r.Status, len(r.Hops))
	}
	c2 := client(t, vuhttp.Config{MaxRedirects: 2})
	if r = get(t, c2, srv.URL+"/hop/3"); r.Status != 302 || len(r.Hops) != 2 {
		t.Fatalf("config's limit: status %d hops %d", r.Status, len(r.Hops))
	}

	// 303 turns a POST into a GET without its body; 307 and 308 keep both.
	for code, want := range map[int]string{301: "GET ", 302: "GET ", 303: "GET ", 307: "POST data", 308: "POST data"} {
		url := srv.URL + "/to?code=" + strconv.Itoa(code) + "&url=/hop/0"
		r = do(t, c, &vuhttp.Request{Method: "POST", URL: url, Body: []byte("data")})
		if r.Err != nil || string(r.Body) != want || r.Hops[0].Method != "POST" || r.Method != strings.Fields(want)[0] {
			t.Errorf("%d: err %v body %q hops %+v", code, r.Err, r.Body, r.Hops)
		}
	}

	// A Location that is not http or https is not followed.
	r = get(t, c, srv.URL+"/to?url=ftp://127.0.0.1/x")
	if r.Err != nil || r.Status != 302 || len(r.Hops) != 0 {
		t.Fatalf("ftp redirect: err %v status %d", r.Err, r.Status)
	}
}

// dnsStub is a resolver that counts the queries it is asked and answers
// none.
type dnsStub struct{ queries atomic.Int64 }

func (d *dnsStub) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		d.queries.Add(1)
		return nil, errors.New("dns stub: no answers")
	}}
}

func TestRedirectToARefusedHostIsRefusedWithoutDNS(t *testing.T) {
	srv := redirector(t)
	dns := &dnsStub{}
	p, err := perm.New(perm.Config{Base: t.TempDir(), Net: []string{srv.Listener.Addr().String()}, Resolver: dns.resolver()})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, vuhttp.Config{Perm: p})
	for _, c2 := range []struct {
		to   string
		code int
	}{
		{"http://evil.test/steal", vuhttp.CodeDeniedHost},
		{"http://10.9.8.7:80/steal", vuhttp.CodeDeniedAddress},
		{"http://127.0.0.1:1/other-port", vuhttp.CodeDeniedAddress},
		{"http://localhost:1/other-port", vuhttp.CodeDeniedHost},
	} {
		r := get(t, c, srv.URL+"/to?url="+c2.to)
		if r.ErrorCode != c2.code || !errors.Is(r.Err, perm.ErrDenied) || r.Status != 0 || len(r.Hops) != 1 || r.Hops[0].Status != 302 {
			t.Errorf("redirect to %s: code %d err %v status %d hops %d", c2.to, r.ErrorCode, r.Err, r.Status, len(r.Hops))
			continue
		}
		if !strings.Contains(r.Err.Error(), "--allow-net") {
			t.Errorf("redirect to %s: the message does not say how to allow it: %v", c2.to, r.Err)
		}
	}
	if n := dns.queries.Load(); n != 0 {
		t.Fatalf("%d DNS queries", n)
	}
	// The request itself is judged too.
	if r := get(t, c, "http://evil.test/"); r.ErrorCode != vuhttp.CodeDeniedHost {
		t.Fatalf("direct: code %d err %v", r.ErrorCode, r.Err)
	}
	if n := dns.queries.Load(); n != 0 {
		t.Fatalf("%d DNS queries", n)
	}
}

func TestCookies(t *testing.T) {
	var seen atomic.Value // the Cookie header of the last request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Cookie"))
		switch r.URL.Path {
		case "/set":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark", Path: "/"})
		case "/login": // sets a cookie and redirects: the next hop sends it
			http.SetCookie(w, &http.Cookie{Name: "auth", Value: "yes", Path: "/"})
			http.Redirect(w, r, "/echo", 302)
		}
	}))
	t.Cleanup(srv.Close)
	c := client(t, vuhttp.Config{})
	cookie := func(req *vuhttp.Request) string {
		t.Helper()
		if r := do(t, c, req); r.Err != nil {
			t.Fatal(r.Err)
		}
		return seen.Load().(string)
	}
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo"}); got != "" {
		t.Fatalf("a new jar sent %q", got)
	}
	cookie(&vuhttp.Request{URL: srv.URL + "/set"})
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo"}); got != "session=abc; theme=dark" {
		t.Fatalf("jar sent %q", got)
	}
	// Request cookies go beside the jar's, or replace those of their name.
	got := cookie(&vuhttp.Request{URL: srv.URL + "/echo", Cookies: []vuhttp.Cookie{
		{Name: "theme", Value: "light", Replace: true}, {Name: "extra", Value: "1"}}})
	if got != "session=abc; theme=light; extra=1" {
		t.Fatalf("with request cookies: %q", got)
	}
	got = cookie(&vuhttp.Request{URL: srv.URL + "/echo", Cookies: []vuhttp.Cookie{{Name: "theme", Value: "light"}}})
	if got != "session=abc; theme=dark; theme=light" {
		t.Fatalf("without replace: %q", got)
	}
	// They do not enter the jar.
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo"}); got != "session=abc; theme=dark" {
		t.Fatalf("request cookies stayed: %q", got)
	}
	// A script's own Cookie header is kept, first.
	h := http.Header{"Cookie": {"mine=1"}}
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo", Header: h}); got != "mine=1; session=abc; theme=dark" {
		t.Fatalf("with a Cookie header: %q", got)
	}
	c.ResetCookies()
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo"}); got != "" {
		t.Fatalf("after ResetCookies: %q", got)
	}
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/login"}); got != "auth=yes" {
		t.Fatalf("a redirect's hop did not send the cookie its response set: %q", got)
	}
	u := mustURL(t, srv.URL)
	if cs := c.Cookies(u); len(cs) != 1 || cs[0].Name != "auth" {
		t.Fatalf("Cookies: %v", cs)
	}
	c.ResetCookies()
	c.SetCookies(u, []*http.Cookie{{Name: "manual", Value: "v"}})
	if got := cookie(&vuhttp.Request{URL: srv.URL + "/echo"}); got != "manual=v" {
		t.Fatalf("SetCookies: %q", got)
	}
}
