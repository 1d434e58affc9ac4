package vuhttp

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzResponse feeds arbitrary bytes to the HTTP/1 response parser and
// body readers, as a hostile server would: no panic, no body over the
// limit, headers readable whatever was accepted.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n\r\nx\x9c",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nSet-Cookie: a=b\r\n\r\nz",
		"HTTP/1.1 999 \r\nTransfer-Encoding: gzip, chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		const limit = 1 << 12
		cn := &conn{br: bufio.NewReaderSize(bytes.NewReader(data), 4096)}
		resp := &Response{}
		h := &hop{method: "GET"}
		if head {
			h.method = "HEAD"
		}
		c := &Client{}
		hd, err := c.readHead(cn, h, resp)
		if err != nil {
			return
		}
		if resp.Status < 100 || resp.Status > 999 || (resp.Proto != "HTTP/1.1" && resp.Proto != "HTTP/1.0") {
			t.Fatalf("accepted status %d proto %q", resp.Status, resp.Proto)
		}
		n := 0
		for _, vs := range resp.Header() {
			n += len(vs)
		}
		if n != len(resp.fields) {
			t.Fatalf("%d header values from %d fields", n, len(resp.fields))
		}
		if hd.noBody {
			return
		}
		cn.body = body{cn: cn, frame: frameLength, left: hd.length}
		switch {
		case hd.chunked:
			cn.body.frame, cn.body.left = frameChunked, 0
		case hd.untilEOF:
			cn.body.frame = frameEOF
		}
		enc := identity
		if v, ok := resp.lookup("Content-Encoding"); ok {
			enc = parseEncoding(string(v))
		}
		length := hd.length
		if hd.chunked || hd.untilEOF {
			length = -1
		}
		keep(&cn.body, resp, enc, length, limit)
		if len(resp.Body) > limit {
			t.Fatalf("a body of %d bytes passed the %d-byte limit", len(resp.Body), limit)
		}
	})
}

// FuzzChallenge parses arbitrary WWW-Authenticate values.
func FuzzChallenge(f *testing.F) {
	f.Add(`Digest realm="a\"b", nonce="n", qop="auth,auth-int", algorithm=SHA-256-sess, opaque=o`)
	f.Add(`Digest nonce=, =x, "`)
	f.Fuzz(func(t *testing.T, v string) {
		resp := &Response{}
		resp.raw = append(resp.raw, "WWW-Authenticate"...)
		resp.raw = append(resp.raw, v...)
		resp.fields = append(resp.fields, field{0, 16, 16, uint32(len(resp.raw))})
		if ch, ok := parseChallenge(resp); ok && (ch.nonce == "" || digestHash(ch.algorithm) == nil) {
			t.Fatalf("accepted %+v", ch)
		}
	})
}
