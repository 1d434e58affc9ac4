package vuhttp_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"spellhost/host/vuhttp"
)

// rawServer is a keep-alive HTTP/1.1 server that allocates nothing per
// request: it skips each request's head (these requests have no body) and
// writes a canned response. Its share of the CPU is small, and allocs/op
// are the client's alone.
func rawServer(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n")
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				go func() { <-b.Context().Done(); c.Close() }()
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// BenchmarkDo is one GET of a small body on a kept-alive connection: the
// hot path of a load test. The figures include the in-process server's
// share of the CPU (a raw server's, which allocates nothing: allocs/op are
// the client's).
func BenchmarkDo(b *testing.B) {
	url := rawServer(b)
	for _, c := range []struct {
		name string
		rt   vuhttp.ResponseType
	}{{"none", vuhttp.BodyNone}, {"text", vuhttp.BodyText}} {
		b.Run(c.name, func(b *testing.B) {
			cl := client(b, vuhttp.Config{})
			req := &vuhttp.Request{URL: url, ResponseType: c.rt}
			resp := &vuhttp.Response{}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				cl.Do(ctx, req, resp)
				if resp.Err != nil {
					b.Fatal(resp.Err)
				}
			}
		})
	}
	// The same with every phase recorded in HDR histograms, as the metrics
	// of a run would: the cost of latency per request.
	b.Run("none_recorded", func(b *testing.B) {
		cl := client(b, vuhttp.Config{})
		req := &vuhttp.Request{URL: url, ResponseType: vuhttp.BodyNone}
		resp := &vuhttp.Response{}
		var hs [7]*hdrhistogram.Histogram
		for i := range hs {
			hs[i] = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			cl.Do(ctx, req, resp)
			tm := resp.Timings
			for i, d := range [7]time.Duration{tm.Blocked, tm.Connecting, tm.TLSHandshaking, tm.Sending, tm.Waiting, tm.Receiving, tm.Duration} {
				hs[i].RecordValue(int64(d / time.Microsecond))
			}
		}
	})
}

// BenchmarkNetHTTP is the standard library's client on the same request,
// for comparison.
func BenchmarkNetHTTP(b *testing.B) {
	url := rawServer(b)
	tr := &http.Transport{DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := cl.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
