package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/host/server"
)

// rawClient sends one request again and again over a kept-alive
// connection and reads each reply with the least parsing, so that the
// benchmark's allocations are the server's.
type rawClient struct {
	c    net.Conn
	br   *bufio.Reader
	req  []byte
	body []byte
}

func dialRaw(tb testing.TB, addr, req string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	return &rawClient{c: c, br: bufio.NewReaderSize(c, 8192), req: []byte(req), body: make([]byte, 0, 4096)}
}

var errChunked = errors.New("reply without Content-Length")

// do sends the request and returns the reply's status and body.
func (rc *rawClient) do() (int, []byte, error) {
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, nil, err
	}
	status, length := 0, -1
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		switch {
		case status == 0 && len(line) > 12:
			status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		case bytes.HasPrefix(line, []byte("Content-Length: ")):
			n := 0
			for _, c := range line[16:] {
				if c >= '0' && c <= '9' {
					n = n*10 + int(c-'0')
				}
			}
			length = n
		case len(line) == 2: // "\r\n"
			if length < 0 {
				return status, nil, errChunked
			}
			if cap(rc.body) < length {
				rc.body = make([]byte, length)
			}
			rc.body = rc.body[:length]
			_, err := io.ReadFull(rc.br, rc.body)
			return status, rc.body, err
		}
	}
}

func invokeRequest(body string) string {
	return "POST /v1/tools/calculator/invoke HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + aliceKey +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// BenchmarkInvokeCalculator is POST /v1/tools/calculator/invoke over
// loopback with keep-alive, 16 connections at once (the 16 VUs the remote
// client is to drive at 20,000 requests/s on two cores): requests per
// second, and allocations per request (the raw client allocates nothing
// per request, so they are the server's). Variants: with the access log
// (to a discarded writer, still formatted), and through Go's own client.
func BenchmarkInvokeCalculator(b *testing.B) {
	const body = `{"input":"41 + 1"}`
	for _, c := range []struct {
		name      string
		accessLog bool
		goClient  bool
	}{
		{"raw", false, false},
		{"raw_accesslog", true, false},
		{"net_http_client", false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := start(b, func(cfg *server.Config) {
				cfg.AccessLog = c.accessLog
				cfg.Log = slogJSON(io.Discard)
			})
			ts.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
			want := []byte(`"result":42`)
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				if c.goClient {
					for pb.Next() {
						req, _ := http.NewRequest("POST", ts.url+"/v1/tools/calculator/invoke", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+aliceKey)
						req.Header.Set("Content-Type", "application/json")
						res, err := ts.client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						got, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode != 200 || !bytes.Contains(got, want) {
							b.Errorf("%d %s", res.StatusCode, got)
							return
						}
					}
					return
				}
				rc := dialRaw(b, ts.addr, invokeRequest(body))
				defer rc.c.Close()
				for pb.Next() {
					status, got, err := rc.do()
					if err != nil || status != 200 || !bytes.Contains(got, want) {
						b.Errorf("%d %s %v", status, got, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "req/s")
		})
	}
}
