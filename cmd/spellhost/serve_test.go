package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"spellhost/host/exitcode"
)

// lockedBuffer collects a server's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listening waits for the "listening" record in a JSON log and returns
// its URL.
func listening(t *testing.T, log func() string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(log(), "\n") {
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				return rec.URL
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the server never said it was listening:\n%s", log())
	return ""
}

// call sends a request with the key and returns the status and body.
func call(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServeInProcess runs serve through Main, with the signal hook the
// test controls.
func TestServeInProcess(t *testing.T) {
	gs, _, _ := testState(t, map[string]string{keysEnv: "ci:abcdefghijklmnop1234"})
	var stderr lockedBuffer
	gs.stderr = &stderr
	sigc := make(chan chan<- os.Signal, 1)
	gs.notify = func(c chan<- os.Signal) { sigc <- c }
	done := make(chan exitcode.Code, 1)
	dataDir := t.TempDir() // tasks live in JetStream, the default, on disk here
	go func() {
		done <- Main(gs, []string{"serve", "--addr", "127.0.0.1:0", "--heartbeat", "50ms", "--data-dir", dataDir})
	}()
	url := listening(t, stderr.String)
	sig := <-sigc
	defer http.DefaultClient.CloseIdleConnections()

	if code, _ := call(t, "GET", url+"/v1/tools", "", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code, body := call(t, "POST", url+"/v1/tools/calculator/invoke", "abcdefghijklmnop1234", `{"input": "2*21"}`); code != 200 || !strings.Contains(body, `"result":42`) {
		t.Fatalf("invoke: %d %s", code, body)
	}
	sig <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != exitcode.OK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	log := stderr.String()
	if !strings.Contains(log, `"msg":"drained"`) || !strings.Contains(log, `"client":"ci"`) || strings.Contains(log, "abcdefghijklmnop1234") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	os.WriteFile(keyFile, []byte("# ok\nci:abcdefghijklmnop1234\nshort\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--addr", "0.0.0.0:0"}, "not a loopback address: give API keys"},
		{nil, []string{"--addr", "example.com:80"}, "not a loopback address"},
		{nil, []string{"--api-keys-file", keyFile}, keyFile + " line 3: key of 5 characters is too short"},
		{nil, []string{"--api-keys-file", empty}, "no keys in it"},
		{nil, []string{"--api-keys-file", filepath.Join(dir, "none")}, "no such file"},
		{map[string]string{keysEnv: "x:abcdefghijklmnop1234,x:abcdefghijklmnop5678"}, nil, "the name x is given twice"},
		{map[string]string{keysEnv: "tiny"}, nil, keysEnv + " entry 1: key of 4 characters is too short"},
		{nil, []string{"--log-format", "xml"}, "want json or text"},
		{nil, []string{"--fault", "tool:calculator=drop"}, "applies to net:server only"},
		{map[string]string{faultsEnv: "net:server=panic"}, nil, "does not apply to net:server"},
		{nil, []string{"--rate", "-1"}, "--rate"},
		{nil, []string{"--max-concurrent", "0"}, "--max-concurrent"},
		{nil, []string{"--tls-cert", "x.pem"}, "go together"},
		{nil, []string{"--drain-timeout", "never"}, "--drain-timeout"},
		{nil, []string{"extra"}, "takes no arguments"},
	} {
		gs, _, errb := testState(t, c.env)
		code := Main(gs, append([]string{"serve"}, c.args...))
		if code != exitcode.Usage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v %v: exit %d, %s; want 2 and %q", c.env, c.args, code, errb.String(), c.want)
		}
		if strings.Contains(errb.String(), "abcdefghijklmnop") {
			t.Errorf("%v: an error shows a key: %s", c.args, errb.String())
		}
	}
	gs, out, _ := testState(t, nil)
	if code := Main(gs, []string{"serve", "--help"}); code != exitcode.OK || !strings.Contains(out.String(), "Exit codes:") || !strings.Contains(out.String(), "--api-keys-file") {
		t.Fatalf("help: %d\n%s", code, out.String())
	}
}

// TestServeBinary runs the built binary: every route through a real
// process, a fault rule from the environment, and a drain on SIGTERM with
// requests in flight and a task followed by an event stream.
func TestServeBinary(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep program")
	}
	bin := filepath.Join(t.TempDir(), "spellhost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	os.WriteFile(keyFile, []byte("ci:abcdefghijklmnop1234\n"), 0o600)
	const key = "abcdefghijklmnop1234"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--api-keys-file", keyFile,
		"--allow-run=sleep", "--drain-timeout", "20s", "--heartbeat", "100ms", "--max-request-size", "1MiB",
		"--task-backend", "memory") // the drain cancels in-memory tasks
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, faultsEnv + "=net:server=1*status(503)->off"}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url := listening(t, stderr.String)
	client := &http.Client{}
	defer client.CloseIdleConnections()

	// The fault rule from SPELLHOST_FAULTS answers the first API request.
	if code, body := call(t, "GET", url+"/v1/tools", key, ""); code != 503 || !strings.Contains(body, `"type":"injected"`) {
		t.Fatalf("first request under status(503): %d %s", code, body)
	}
	for _, c := range []struct {
		method, path, key, body string
		code                    int
		want                    string
	}{
		{"GET", "/healthz", "", "", 200, `"ok"`},
		{"GET", "/readyz", "", "", 200, `"ready"`},
		{"GET", "/metrics", key, "", 200, "spellhost_http_requests_total"},
		{"GET", "/metrics", "", "", 401, "unauthorized"},
		{"GET", "/v1/tools", "wrong-key-0000000000", "", 403, "forbidden"},
		{"POST", "/v1/request", key, `{"id": "1", "command": "search", "query": "calc"}`, 200, "calculator"},
		{"GET", "/v1/tools", key, "", 200, `"count":30`},
		{"GET", "/v1/tools?q=hash", key, "", 200, "hash_calculator"},
		{"GET", "/v1/tools/calculator", key, "", 200, `"parameters"`},
		{"POST", "/v1/tools/calculator/invoke", key, `{"input": "6*7"}`, 200, `"result":42`},
		{"POST", "/v1/tools/process_executor/invoke", key, `{"executable": "cat"}`, 403, "permission_denied"},
		{"POST", "/v1/tasks", key, `{"name": "calculator", "params": {"input": "1+1"}}`, 201, `"task_id":"t-000001"`},
		{"POST", "/v1/request", key, `{"command": "task_wait", "task_id": "t-000001"}`, 200, `"succeeded"`},
		{"GET", "/v1/tasks/t-000001", key, "", 200, `"succeeded"`},
		{"GET", "/v1/tasks?state=succeeded&page=1&page_size=10", key, "", 200, `"total":1`},
		{"DELETE", "/v1/tasks/t-000001", key, "", 409, "conflict"},
		{"GET", "/v1/tasks/t-000001/events", key, "", 200, "event: end"},
		{"POST", "/v1/tools/calculator/invoke", key, strings.Repeat(" ", 2<<20), 413, "too_large"},
	} {
		code, body := call(t, c.method, url+c.path, c.key, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %.300s; want %d and %q", c.method, c.path, code, body, c.code, c.want)
		}
	}

	// Drain: a long task followed by a stream, and three requests in
	// flight when SIGTERM comes.
	code, body := call(t, "POST", url+"/v1/tasks", key, `{"name": "process_executor", "params": {"executable": "sleep", "arguments": ["60"]}}`)
	if code != 201 {
		t.Fatalf("task: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", url+"/v1/tasks/t-000002/events", nil)
	req.Header.Set("X-API-Key", key)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := bufio.NewReader(res.Body)
	type answer struct {
		code int
		body string
	}
	inflight := make(chan answer, 3)
	for range 3 {
		go func() {
			req, _ := http.NewRequest("POST", url+"/v1/tools/process_executor/invoke", strings.NewReader(`{"executable": "sleep", "arguments": ["3"]}`))
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := client.Do(req)
			if err != nil {
				inflight <- answer{0, err.Error()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			inflight <- answer{res.StatusCode, string(b)}
		}()
	}
	for {
		_, m := call(t, "GET", url+"/metrics", key, "")
		if strings.Contains(m, "\nspellhost_http_requests_in_flight 5\n") { // 3 sleeps, the stream, this scrape
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		if code, _ := call(t, "GET", url+"/readyz", "", ""); code == 503 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if code, body := call(t, "GET", url+"/v1/tools", key, ""); code != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("a new request while draining: %d %s", code, body)
	}
	var stream strings.Builder
	io.Copy(&stream, events)
	if s := stream.String(); !strings.Contains(s, "event: end") || !strings.Contains(s, "cancelled: server shutting down") {
		t.Fatalf("the task's stream:\n%s", s)
	}
	for range 3 {
		a := <-inflight
		if a.code != 200 || !strings.Contains(a.body, `"exit_code":0`) {
			t.Fatalf("a request in flight: %d %s", a.code, a.body)
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("serve exited with %v\n%s", err, stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, `"msg":"drained"`) || strings.Contains(log, key) {
		t.Fatalf("log:\n%s", log)
	}
}
