// Command httpload measures spellhost's HTTP engine (host/vuhttp) against
// wrk, and k6 when it is installed, on one loopback server.
//
//	go run ./scripts/bench/httpload compare [-vus 10] [-duration 5s]
//
// compare starts the server, each load generator and each engine run as a
// process of its own, so the CPU time of each is its own process's (as the
// kernel accounts it when the process ends), the server's excluded. It
// prints requests per second, CPU seconds and requests per CPU-second side
// by side. The subcommands it runs are serve (the loopback server) and
// drive (the engine with N VUs, one client each).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"spellhost/host/vuhttp"
	"spellhost/tools/perm"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve()
	case "drive":
		err = drive(os.Args[2:])
	case "compare":
		err = compare(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: httpload compare [-vus N] [-duration D] | serve | drive -url URL [-vus N] [-duration D] [-type none|text] [-record] [-client engine|nethttp]")
	os.Exit(2)
}

// serve answers every request with a 13-byte body until stdin closes,
// after printing its address.
func serve() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	body := []byte("hello, world\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// drive runs VUs goroutines, each with its own client, for the duration,
// and prints the number of requests made.
func drive(args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	url := fs.String("url", "", "the URL to GET")
	vus := fs.Int("vus", 10, "concurrent VUs")
	dur := fs.Duration("duration", 5*time.Second, "how long")
	typ := fs.String("type", "none", "response type: none or text")
	record := fs.Bool("record", false, "record every phase of every request in HDR histograms")
	which := fs.String("client", "engine", "engine (host/vuhttp) or nethttp (the standard library's client)")
	fs.Parse(args)
	rt, ok := vuhttp.ParseResponseType(*typ)
	if !ok || *url == "" {
		return fmt.Errorf("drive: want -url and -type none or text")
	}
	p, err := perm.New(perm.Config{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var total, failed atomic.Int64
	var wg sync.WaitGroup
	for range *vus {
		if *which == "nethttp" {
			wg.Go(func() { total.Add(netHTTP(ctx, *url)) })
			continue
		}
		c, err := vuhttp.NewClient(vuhttp.Config{Perm: p})
		if err != nil {
			return err
		}
		defer c.Close()
		wg.Go(func() {
			req := &vuhttp.Request{URL: *url, ResponseType: rt}
			resp := &vuhttp.Response{}
			var hs [7]*hdrhistogram.Histogram
			if *record {
				for i := range hs {
					hs[i] = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
				}
			}
			n := int64(0)
			for ctx.Err() == nil {
				c.Do(ctx, req, resp)
				if resp.Err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				n++
				if *record {
					tm := resp.Timings
					for i, d := range [7]time.Duration{tm.Blocked, tm.Connecting, tm.TLSHandshaking, tm.Sending, tm.Waiting, tm.Receiving, tm.Duration} {
						hs[i].RecordValue(int64(d / time.Microsecond))
					}
				}
			}
			total.Add(n)
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("drive: %d requests failed", f)
	}
	fmt.Println(total.Load())
	return nil
}

func netHTTP(ctx context.Context, url string) int64 {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	n := int64(0)
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := cl.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n++
	}
	return n
}

// result is one load generator's run.
type result struct {
	name     string
	requests int64
	cpu      time.Duration
}

func (r result) perCPU() float64 { return float64(r.requests) / r.cpu.Seconds() }

// run runs a command, returns its stdout and the CPU time it used.
func run(name string, args ...string) (out string, cpu time.Duration, err error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return string(b), cpu, err
}

func compare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	vus := fs.Int("vus", 10, "connections (wrk) and VUs (engine, k6)")
	dur := fs.Duration("duration", 5*time.Second, "length of each run")
	fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "serve")
	stdin, err := srv.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); srv.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	url := "http://" + strings.TrimSpace(addr) + "/"

	fmt.Printf("HTTP GET of a 13-byte body on %s, %d connections, %v per run, %d CPUs\n\n", url, *vus, *dur, nprocs())
	var results []result
	if wrk, err := exec.LookPath("wrk"); err == nil {
		out, cpu, err := run(wrk, "-t1", "-c"+strconv.Itoa(*vus), "-d"+strconv.Itoa(int(dur.Seconds()))+"s", url)
		if err != nil {
			return fmt.Errorf("wrk: %w", err)
		}
		m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("wrk: no request count in %q", out)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		results = append(results, result{"wrk -t1", n, cpu})
	} else {
		fmt.Println("wrk: not installed (apt-get install wrk); its line is skipped")
	}
	if k6, err := exec.LookPath("k6"); err == nil {
		r, err := runK6(k6, url, *vus, *dur)
		if err != nil {
			return err
		}
		results = append(results, r)
	} else {
		fmt.Println("k6: not installed; its line is skipped")
	}
	for _, c := range []struct {
		name, typ, client string
		record            bool
	}{
		{"engine, responseType none", "none", "engine", false},
		{"engine, none, phases recorded", "none", "engine", true},
		{"engine, responseType text", "text", "engine", false},
		{"net/http client (reference)", "none", "nethttp", false},
	} {
		args := []string{"drive", "-url", url, "-vus", strconv.Itoa(*vus), "-duration", dur.String(), "-type", c.typ, "-client", c.client}
		if c.record {
			args = append(args, "-record")
		}
		out, cpu, err := run(self, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a count", c.name, out)
		}
		results = append(results, result{c.name, n, cpu})
	}
	fmt.Println("\nreq/s is requests over the run's length; CPU s is the process's user + system time, start-up included.")
	fmt.Printf("%-32s %10s %8s %14s %8s %8s\n", "client", "req/s", "CPU s", "req/CPU-s", "vs wrk", "vs k6")
	base := map[string]float64{}
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.name, "wrk"):
			base["wrk"] = r.perCPU()
		case strings.HasPrefix(r.name, "k6"):
			base["k6"] = r.perCPU()
		}
	}
	ratio := func(r result, to string) string {
		if base[to] == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", r.perCPU()/base[to])
	}
	for _, r := range results {
		fmt.Printf("%-32s %10.0f %8.2f %14.0f %8s %8s\n", r.name, float64(r.requests)/dur.Seconds(), r.cpu.Seconds(),
			r.perCPU(), ratio(r, "wrk"), ratio(r, "k6"))
	}
	return nil
}

func nprocs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

// runK6 runs k6 with VUs looping http.get on url, bodies discarded.
func runK6(k6, url string, vus int, dur time.Duration) (result, error) {
	dir, err := os.MkdirTemp("", "httpload-k6")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "get.js")
	summary := filepath.Join(dir, "summary.json")
	js := "import http from 'k6/http';\nexport const options = {discardResponseBodies: true};\n" +
		"export default function () { http.get(__ENV.URL); }\n"
	if err := os.WriteFile(script, []byte(js), 0o644); err != nil {
		return result{}, err
	}
	_, cpu, err := run(k6, "run", "--quiet", "--no-usage-report", "--vus", strconv.Itoa(vus), "--duration", dur.String(),
		"--summary-export", summary, "-e", "URL="+url, script)
	if err != nil {
		return result{}, fmt.Errorf("k6: %w", err)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		return result{}, err
	}
	var s struct {
		Metrics map[string]map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return result{}, fmt.Errorf("k6 summary: %w", err)
	}
	return result{"k6 http.get", int64(s.Metrics["http_reqs"]["count"]), cpu}, nil
}
