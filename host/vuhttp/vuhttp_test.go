package vuhttp_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/vuhttp"
	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loopback is the permission set without --allow-net: loopback only.
func loopback(t testing.TB) *perm.Set {
	t.Helper()
	p, err := perm.New(perm.Config{Base: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	return p
}

// client returns a client for the test, closed at its end. cfg.Perm
// defaults to loopback.
func client(t testing.TB, cfg vuhttp.Config) *vuhttp.Client {
	t.Helper()
	if cfg.Perm == nil {
		cfg.Perm = loopback(t)
	}
	c, err := vuhttp.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// tlsClient trusts srv's certificate.
func tlsClient(t testing.TB, srv *httptest.Server, cfg vuhttp.Config) *vuhttp.Client {
	t.Helper()
	cfg.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return client(t, cfg)
}

func do(t testing.TB, c *vuhttp.Client, req *vuhttp.Request) *vuhttp.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // catches hangs only
	defer cancel()
	resp := &vuhttp.Response{}
	c.Do(ctx, req, resp)
	return resp
}

func get(t testing.TB, c *vuhttp.Client, url string) *vuhttp.Response {
	t.Helper()
	return do(t, c, &vuhttp.Request{URL: url})
}

// servers starts the same handler as plain HTTP/1.1, HTTPS with HTTP/1.1
// and HTTPS with HTTP/2, each closed at the test's end.
func servers(t *testing.T, h http.Handler) map[string]*httptest.Server {
	t.Helper()
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	h1 := httptest.NewUnstartedServer(h)
	h1.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	quiet(h1).StartTLS()
	t.Cleanup(h1.Close)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	quiet(h2).StartTLS()
	t.Cleanup(h2.Close)
	return map[string]*httptest.Server{"http1": plain, "https1": h1, "https2": h2}
}

// quiet keeps an unstarted server from logging the TLS handshakes the
// tests make fail on purpose.
func quiet(srv *httptest.Server) *httptest.Server {
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	return srv
}

// clientFor returns a client that trusts srv when it is a TLS server.
func clientFor(t *testing.T, srv *httptest.Server, cfg vuhttp.Config) *vuhttp.Client {
	if srv.TLS != nil {
		return tlsClient(t, srv, cfg)
	}
	return client(t, cfg)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
