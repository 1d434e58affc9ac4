package vuhttp_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"spellhost/host/vuhttp"
)

// rawReply is what the scripted server writes for a path; close closes the
// connection after it.
type rawReply struct {
	text  string
	close bool
}

// scripted is a server that answers each request with the bytes its path
// names, to test what net/http's server would never send. It counts the
// connections it accepted.
type scripted struct {
	addr  string
	conns atomic.Int64
}

func scriptedServer(t *testing.T, replies map[string]rawReply) *scripted {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			wg.Go(func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					r, ok := replies[req.URL.Path]
					if !ok {
						r = rawReply{text: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"}
					}
					if _, err := io.WriteString(conn, r.text); err != nil || r.close {
						return
					}
				}
			})
		}
	})
	return s
}

func TestHTTP1Framing(t *testing.T) {
	long := strings.Repeat("v", 2<<20)
	srv := scriptedServer(t, map[string]rawReply{
		"/chunked": {text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"},
		"/http10":  {text: "HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nuntil close", close: true},
		"/1xx": {text: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		"/fold":      {text: "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nContent-Length: 0\r\n\r\n"},
		"/head":      {text: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"},
		"/204":       {text: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"},
		"/closing":   {text: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", close: true},
		"/nolength":  {text: "HTTP/1.1 200 OK\r\n\r\nto the end", close: true},
		"/lf":        {text: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
		"/status":    {text: "HTTP/2 200 OK\r\n\r\n", close: true},
		"/garbage":   {text: "SSH-2.0-OpenSSH\r\n", close: true},
		"/twolength": {text: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", close: true},
		"/samelen":   {text: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"},
		"/badlength": {text: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", close: true},
		"/nocolon":   {text: "HTTP/1.1 200 OK\r\nJust a line\r\n\r\n", close: true},
		"/spacename": {text: "HTTP/1.1 200 OK\r\nX-Bad : x\r\n\r\n", close: true},
		"/foldfirst": {text: "HTTP/1.1 200 OK\r\n folded\r\n\r\n", close: true},
		"/huge":      {text: "HTTP/1.1 200 OK\r\nX-Huge: " + long + "\r\n\r\n", close: true},
		"/short":     {text: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true},
		"/badchunk":  {text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", close: true},
		"/longchunk": {text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", close: true},
		"/gzipchunk": {text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Encoding: gzip\r\n\r\n" +
			strconv.FormatInt(int64(len(gz([]byte("zipped")))), 16) + "\r\n" + string(gz([]byte("zipped"))) + "\r\n0\r\n\r\n"},
		"/many1xx": {text: strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 20), close: true},
	})
	c := client(t, vuhttp.Config{})
	base := "http://" + srv.addr
	ok := func(path, method, body string) *vuhttp.Response {
		t.Helper()
		r := do(t, c, &vuhttp.Request{URL: base + path, Method: method})
		if r.Err != nil || r.Status/100 != 2 || string(r.Body) != body {
			t.Errorf("%s %s: err %v status %d body %q", method, path, r.Err, r.Status, r.Body)
		}
		checkTimings(t, path, r.Timings)
		return r
	}
	r := ok("/chunked", "", "hello world")
	if r.HeaderValue("X-Trailer") != "" {
		t.Error("a trailer became a header")
	}
	ok("/chunked", "", "hello world")
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections for two chunked responses, want one", n)
	}
	if r := ok("/http10", "", "until close"); r.Proto != "HTTP/1.0" || r.HeaderValue("x-old") != "yes" {
		t.Errorf("HTTP/1.0: proto %q", r.Proto)
	}
	if r := ok("/1xx", "", "ok"); r.HeaderValue("Link") != "" || r.Status != 200 {
		t.Errorf("1xx: status %d link %q", r.Status, r.HeaderValue("Link"))
	}
	if r := ok("/fold", "", ""); r.HeaderValue("X-Fold") != "a b c" {
		t.Errorf("folded header: %q", r.HeaderValue("X-Fold"))
	}
	connsBefore := srv.conns.Load()
	ok("/head", "HEAD", "") // no body despite the length
	ok("/204", "", "")
	if srv.conns.Load() != connsBefore {
		t.Error("HEAD or 204 did not leave the connection reusable")
	}
	ok("/lf", "", "ok")
	ok("/samelen", "", "ok")
	ok("/gzipchunk", "", "zipped")
	ok("/closing", "", "ok")
	ok("/nolength", "", "to the end")
	connsBefore = srv.conns.Load()
	ok("/204", "", "")
	if srv.conns.Load() != connsBefore+1 {
		t.Error("a connection the server closed (Connection: close or no length) was reused")
	}
	for _, path := range []string{"/status", "/garbage", "/twolength", "/badlength", "/nocolon", "/spacename",
		"/foldfirst", "/huge", "/badchunk", "/longchunk", "/many1xx"} {
		r := get(t, c, base+path)
		if r.ErrorCode != vuhttp.CodeMalformed || !errors.Is(r.Err, vuhttp.ErrMalformed) {
			t.Errorf("%s: code %d err %v", path, r.ErrorCode, r.Err)
		}
	}
	if r := get(t, c, base+"/short"); r.ErrorCode != vuhttp.CodeGeneric || !errors.Is(r.Err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: code %d err %v", r.ErrorCode, r.Err)
	}
}

func TestStaleConnectionIsRetried(t *testing.T) {
	// The server answers one request per connection, as if keeping it
	// alive, then closes it.
	srv := scriptedServer(t, map[string]rawReply{
		"/": {text: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close: true},
	})
	c := client(t, vuhttp.Config{})
	url := "http://" + srv.addr + "/"
	for i := range 3 {
		if r := get(t, c, url); r.Err != nil || string(r.Body) != "ok" {
			t.Fatalf("GET %d: err %v", i, r.Err)
		}
	}
	// A POST is not sent twice: the server may have acted on it.
	r := do(t, c, &vuhttp.Request{Method: "POST", URL: url, Body: []byte("x")})
	if r.Err == nil {
		t.Fatal("a POST on a stale connection was sent again")
	}
	// Unless it says it may be.
	get(t, c, url)
	r = do(t, c, &vuhttp.Request{Method: "POST", URL: url, Body: []byte("x"), Header: http.Header{"Idempotency-Key": {"k1"}}})
	if r.Err != nil {
		t.Fatalf("a POST with an Idempotency-Key: %v", r.Err)
	}
}
