package vuhttp_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"spellhost/host/vuhttp"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// bodies serves /gzip, /zlib, /deflate (bare), /badgzip, /binary, /big/N
// (N bytes, with a Content-Length), /stream/N (N bytes, chunked), /bomb
// (1 MiB of zeros gzipped into about a kilobyte) and /ae (echoes
// Accept-Encoding).
func bodies() http.Handler {
	text := []byte(strings.Repeat("compressible text ", 100))
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	bomb := gz(make([]byte, 1<<20))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		switch {
		case path == "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz(text))
		case path == "/zlib":
			w.Header().Set("Content-Encoding", "deflate")
			w.Write(zl(text))
		case path == "/deflate":
			w.Header().Set("Content-Encoding", "deflate")
			w.Write(rawDeflate(text))
		case path == "/badgzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("this is not gzip at all"))
		case path == "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(binary)
		case strings.HasPrefix(path, "/big/"):
			n, _ := strconv.Atoi(path[len("/big/"):])
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(bytes.Repeat([]byte{'b'}, n))
		case strings.HasPrefix(path, "/stream/"):
			n, _ := strconv.Atoi(path[len("/stream/"):])
			for range n / 1000 {
				w.Write(bytes.Repeat([]byte{'s'}, 1000))
				w.(http.Flusher).Flush()
			}
		case path == "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		case path == "/ae":
			w.Write([]byte(r.Header.Get("Accept-Encoding")))
		}
	})
}

func TestBodies(t *testing.T) {
	text := strings.Repeat("compressible text ", 100)
	for name, srv := range servers(t, bodies()) {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv, vuhttp.Config{MaxResponseBytes: 10000})
			for _, path := range []string{"/gzip", "/zlib", "/deflate"} {
				r := get(t, c, srv.URL+path)
				if r.Err != nil || string(r.Body) != text || r.BodySize != int64(len(text)) {
					t.Errorf("%s: err %v, body of %d bytes", path, r.Err, len(r.Body))
				}
				if r.HeaderValue("Content-Encoding") == "" {
					t.Errorf("%s: the Content-Encoding header is gone", path)
				}
				// Discarded, a body is not decompressed: its size is what came.
				r = do(t, c, &vuhttp.Request{URL: srv.URL + path, ResponseType: vuhttp.BodyNone})
				if r.Err != nil || r.Body != nil || r.BodySize == 0 || r.BodySize >= int64(len(text)) {
					t.Errorf("%s, none: err %v body %v size %d", path, r.Err, r.Body != nil, r.BodySize)
				}
			}
			if r := get(t, c, srv.URL+"/ae"); string(r.Body) != "gzip, deflate" {
				t.Errorf("Accept-Encoding sent: %q", r.Body)
			}
			h := http.Header{"Accept-Encoding": {"identity"}}
			if r := do(t, c, &vuhttp.Request{URL: srv.URL + "/ae", Header: h}); string(r.Body) != "identity" {
				t.Errorf("the script's Accept-Encoding: %q", r.Body)
			}
			r := get(t, c, srv.URL+"/badgzip")
			if r.ErrorCode != vuhttp.CodeDecompression || r.Status != 200 {
				t.Errorf("bad gzip: code %d status %d err %v", r.ErrorCode, r.Status, r.Err)
			}
			r = do(t, c, &vuhttp.Request{URL: srv.URL + "/binary", ResponseType: vuhttp.BodyBinary})
			if r.Err != nil || len(r.Body) != 256 {
				t.Fatalf("binary: err %v, %d bytes", r.Err, len(r.Body))
			}
			for i, b := range r.Body {
				if b != byte(i) {
					t.Fatalf("binary byte %d is %d", i, b)
				}
			}
			// The response limit: 10,000 bytes.
			for _, path := range []string{"/big/10000", "/stream/10000"} {
				if r := get(t, c, srv.URL+path); r.Err != nil || len(r.Body) != 10000 {
					t.Errorf("%s at the limit: err %v, %d bytes", path, r.Err, len(r.Body))
				}
			}
			for _, path := range []string{"/big/10001", "/big/5000000", "/stream/20000", "/bomb"} {
				r := get(t, c, srv.URL+path)
				if r.ErrorCode != vuhttp.CodeTooLarge || !errors.Is(r.Err, vuhttp.ErrTooLarge) || len(r.Body) > 10000 || cap(r.Body) > 10001 {
					t.Errorf("%s over the limit: code %d err %v, %d bytes (cap %d)", path, r.ErrorCode, r.Err, len(r.Body), cap(r.Body))
				}
				if !strings.Contains(r.Err.Error(), "10000") {
					t.Errorf("%s: the message does not give the limit: %v", path, r.Err)
				}
			}
			// Discarded bodies are not limited.
			r = do(t, c, &vuhttp.Request{URL: srv.URL + "/stream/20000", ResponseType: vuhttp.BodyNone})
			if r.Err != nil || r.BodySize != 20000 {
				t.Errorf("a discarded long body: err %v size %d", r.Err, r.BodySize)
			}
			// After all that, the client still works.
			if r := get(t, c, srv.URL+"/big/5"); r.Err != nil || string(r.Body) != "bbbbb" {
				t.Errorf("afterwards: err %v body %q", r.Err, r.Body)
			}
		})
	}
}

func TestResponseReuse(t *testing.T) {
	srv := servers(t, bodies())["http1"]
	c := client(t, vuhttp.Config{})
	resp := &vuhttp.Response{}
	c.Do(t.Context(), &vuhttp.Request{URL: srv.URL + "/big/3000"}, resp)
	first := &resp.Body[0]
	c.Do(t.Context(), &vuhttp.Request{URL: srv.URL + "/big/100"}, resp)
	if resp.Err != nil || len(resp.Body) != 100 || &resp.Body[0] != first {
		t.Fatalf("the body's memory was not reused: err %v len %d", resp.Err, len(resp.Body))
	}
	c.Do(t.Context(), &vuhttp.Request{URL: srv.URL + "/big/3", ResponseType: vuhttp.BodyNone}, resp)
	if resp.Body != nil || resp.BodySize != 3 || resp.Header() == nil {
		t.Fatalf("none after text: body %q size %d", resp.Body, resp.BodySize)
	}
	c.Do(t.Context(), &vuhttp.Request{URL: srv.URL + "/big/10"}, resp)
	if resp.Err != nil || string(resp.Body) != "bbbbbbbbbb" || &resp.Body[0] != first {
		t.Fatalf("text after none: the memory was not kept (err %v)", resp.Err)
	}
}
