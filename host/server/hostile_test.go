package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/host/server"
)

// rawExchange writes raw to a new connection and returns the status line
// and headers of the answer ("" when the server closed without one).
func rawExchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil || line == "\r\n" {
			return head.String()
		}
	}
}

func TestHostilePaths(t *testing.T) {
	ts := start(t, nil)
	cases := []struct {
		method, path string
		status       int
		typ          string
	}{
		{"GET", "/v1//tools", 400, "validation_error"},
		{"GET", "/v1/tools/../tasks", 400, "validation_error"},
		{"GET", "/v1/./tools", 400, "validation_error"},
		{"GET", "/v1/tools/%2e%2e/tasks", 400, "validation_error"},
		{"GET", "/v1/tools/", 404, "not_found"},
		{"GET", "/v1/tools/a%2Fb", 400, "validation_error"},
		{"POST", "/v1/tools/a%2Fb/invoke", 400, "validation_error"},
		{"GET", "/v1/tools/" + strings.Repeat("x", 200), 400, "validation_error"},
		{"GET", "/v1/tools/%00", 400, "validation_error"},
		{"GET", "/v2/tools", 404, "not_found"},
		{"GET", "/", 404, "not_found"},
		{"GET", "/v1/tasks/1", 400, "validation_error"},
		{"GET", "/v1/tasks/t-1", 400, "validation_error"},
		{"GET", "/v1/tasks/t-abcdef", 400, "validation_error"},
		{"GET", "/v1/tasks/t-000001%0d%0aX-Evil:%201", 400, "validation_error"},
		{"GET", "/v1/tasks/t-" + strings.Repeat("9", 30), 400, "validation_error"},
		{"DELETE", "/v1/tasks/..%2f..%2fetc", 400, "validation_error"},
		{"GET", "/v1/tasks/t-000001/events/x", 404, "not_found"},
		{"PUT", "/v1/tools", 405, "validation_error"},
		{"DELETE", "/v1/request", 405, "validation_error"},
		{"GET", "/v1/tools/calculator/invoke", 405, "validation_error"},
		{"PATCH", "/v1/tasks/t-000001", 405, "validation_error"},
		{"POST", "/healthz", 405, "validation_error"},
	}
	for _, c := range cases {
		r := ts.do(c.method, c.path, "")
		if r.status != c.status || r.errType() != c.typ {
			t.Errorf("%s %s: %d %s, want %d %s (%s)", c.method, c.path, r.status, r.errType(), c.status, c.typ, r.body)
		}
		if r.header.Get("X-Evil") != "" {
			t.Errorf("%s %s: an injected header came back", c.method, c.path)
		}
	}
	if r := ts.do("PUT", "/v1/tools", ""); r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("405 Allow %q", r.header.Get("Allow"))
	}
}

func TestHostileQueries(t *testing.T) {
	ts := start(t, nil)
	for _, path := range []string{
		"/v1/tasks?page=0", "/v1/tasks?page=-1", "/v1/tasks?page=abc", "/v1/tasks?page=1e3",
		"/v1/tasks?page_size=0", "/v1/tasks?page_size=1001", "/v1/tasks?page=99999999999999999999",
		"/v1/tasks?state=bogus", "/v1/tasks?state=running&state=queued", "/v1/tasks?tag=nocolon",
		"/v1/tasks?color=red", "/v1/tasks?page=%zz", "/v1/tools?q=a&category=b", "/v1/tools?category=",
		"/v1/tools?q=", "/v1/tools/calculator?x=1", "/v1/tools/calculator/invoke?timeout=-1s",
		"/v1/tools/calculator/invoke?timeout=forever", "/v1/tools/calculator/invoke?timeout=0",
		"/v1/tools/calculator/invoke?timeout=1s&timeout=2s", "/v1/tasks/t-000001?x", "/v1/request?debug=1",
	} {
		method := "GET"
		if strings.Contains(path, "invoke") || strings.HasPrefix(path, "/v1/request") {
			method = "POST"
		}
		r := ts.do(method, path, `{"input": "1"}`)
		if r.status != 400 || r.errType() != "validation_error" {
			t.Errorf("%s %s: %d %s (%s)", method, path, r.status, r.errType(), r.body)
		}
	}
}

func TestHostileBodies(t *testing.T) {
	ts := start(t, func(c *server.Config) { c.MaxBodyBytes = 64 << 10 })
	big := `{"input": "` + strings.Repeat("1+", 40<<10) + `1"}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	cases := []struct {
		name, method, path, body string
		status                   int
		typ                      string
		msg                      string
	}{
		{"malformed", "POST", "/v1/tools/calculator/invoke", `{"input": `, 400, "validation_error", "unexpected end"},
		{"garbage", "POST", "/v1/tools/calculator/invoke", `{input: 1}`, 400, "validation_error", "malformed JSON at offset 1"},
		{"array", "POST", "/v1/tools/calculator/invoke", `[1, 2]`, 400, "validation_error", "got an array"},
		{"string", "POST", "/v1/tools/calculator/invoke", `"2+2"`, 400, "validation_error", "got a string"},
		{"trailing", "POST", "/v1/tools/calculator/invoke", `{"input": "1"} {}`, 400, "validation_error", "request body"},
		{"duplicate keys", "POST", "/v1/tools/calculator/invoke", `{"input": "1", "input": "2"}`, 400, "validation_error", "duplicate"},
		{"invalid UTF-8", "POST", "/v1/tools/calculator/invoke", "{\"input\": \"\xff\"}", 400, "validation_error", "UTF-8"},
		{"deep nesting", "POST", "/v1/tools/calculator/invoke", `{"input": ` + deep + `}`, 400, "validation_error", "request body"},
		{"over the limit", "POST", "/v1/tools/calculator/invoke", big + big, 413, "too_large", "65536-byte limit"},
		{"request over the limit", "POST", "/v1/request", big + big, 413, "too_large", "limit"},
		{"task: command", "POST", "/v1/tasks", `{"command": "invoke", "name": "calculator"}`, 400, "validation_error", "do not apply"},
		{"task: id", "POST", "/v1/tasks", `{"id": "x", "name": "calculator"}`, 400, "validation_error", "do not apply"},
		{"task: unknown field", "POST", "/v1/tasks", `{"name": "calculator", "colour": 1}`, 400, "validation_error", `unknown field "colour"`},
		{"task: wrong type", "POST", "/v1/tasks", `{"name": "calculator", "retries": "many"}`, 400, "validation_error", `field "retries"`},
		{"task: negative timeout", "POST", "/v1/tasks", `{"name": "calculator", "timeout": -1}`, 400, "validation_error", "timeout"},
		{"task: null", "POST", "/v1/tasks", `null`, 400, "validation_error", "missing field \"name\""},
		{"protocol: malformed", "POST", "/v1/request", `{"command": "list"`, 400, "validation_error", "malformed JSON"},
		{"protocol: not an object", "POST", "/v1/request", `[]`, 400, "validation_error", "must be a JSON object"},
	}
	for _, c := range cases {
		r := ts.do(c.method, c.path, c.body)
		if r.status != c.status || r.errType() != c.typ || r.env.Error == nil || !strings.Contains(r.env.Error.Message, c.msg) {
			t.Errorf("%s: %d %s %s, want %d %s containing %q", c.name, r.status, r.errType(), r.body, c.status, c.typ, c.msg)
		}
	}
	// A body sent chunked, with no length given, is cut at the limit too.
	req, _ := http.NewRequest("POST", ts.url+"/v1/tools/calculator/invoke", io.MultiReader(strings.NewReader(big), strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+aliceKey)
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 || req.ContentLength != 0 {
		t.Fatalf("chunked body over the limit: %d", res.StatusCode)
	}
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "1"}`, "Content-Type", "text/plain"), 415, "validation_error")
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "1"}`, "Content-Type", "application/json; charset=utf-8"), 200, "")
}

func TestRequestIDs(t *testing.T) {
	ts := start(t, nil)
	r := ts.do("GET", "/v1/tools/calculator", "", "X-Request-ID", "client-42:a.b_c")
	if r.header.Get("X-Request-Id") != "client-42:a.b_c" || r.env.ID != "client-42:a.b_c" {
		t.Fatalf("a valid id is not echoed: %q %q", r.header.Get("X-Request-Id"), r.env.ID)
	}
	for _, bad := range []string{"has space", "ünï", strings.Repeat("a", 65), "a\"b", "<script>", "a%0d%0ab"} {
		r := ts.do("GET", "/v1/tools/calculator", "", "X-Request-ID", bad)
		if got := r.header.Get("X-Request-Id"); got == bad || got == "" || r.env.ID != got {
			t.Errorf("id %q came back as %q (envelope %q)", bad, got, r.env.ID)
		}
	}
	// A raw request trying to smuggle a header through the id: the server
	// refuses the request line outright or replaces the id.
	head := rawExchange(t, ts.addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rX-Evil: 1\r\nConnection: close\r\n\r\n")
	if strings.Contains(head, "X-Evil") || strings.Contains(head, "\rX-Evil") {
		t.Fatalf("the injected header came back:\n%s", head)
	}
	two := rawExchange(t, ts.addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\nX-Request-ID: two\r\nConnection: close\r\n\r\n")
	if strings.Contains(two, "X-Request-Id: one") || strings.Contains(two, "X-Request-Id: two") {
		t.Fatalf("one of two ids was kept:\n%s", two)
	}
}

// TestSlowHeaders: a client that sends its headers one byte at a time is
// cut off at the read-header timeout; it does not hold the server, which
// keeps answering others meanwhile.
func TestSlowHeaders(t *testing.T) {
	ts := start(t, func(c *server.Config) { c.ReadHeaderTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("p", 400) + "\r\n\r\n"
	closed := make(chan int, 1)
	go func() {
		// The server's close shows as EOF on a read.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, c)
		close(closed)
	}()
	sent := 0
	for sent < len(raw) {
		select {
		case <-closed:
			ts.must(ts.do("GET", "/healthz", ""), 200, "")
			t.Logf("cut off after %d of %d header bytes", sent, len(raw))
			return
		default:
		}
		if _, err := c.Write([]byte{raw[sent]}); err != nil {
			break // the server closed: a write may see it first
		}
		sent++
		if sent%50 == 0 {
			ts.must(ts.do("GET", "/healthz", ""), 200, "") // others are served meanwhile
		}
		time.Sleep(5 * time.Millisecond)
	}
	if sent == len(raw) {
		t.Fatalf("the server read all %d bytes sent one at a time", sent)
	}
}

// TestClientKilledMidRequest: a client that dies while sending its body,
// or while its tool runs, ends its request; the tool sees its context end
// and the server goes on.
func TestClientKilledMidRequest(t *testing.T) {
	ts := start(t, nil)
	// Mid-body: promise 1000 bytes, send 20, reset the connection.
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST /v1/tools/calculator/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+aliceKey+
		"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"input\": \"1 + 1 + 1")
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Mid-tool: the tool runs until the client goes.
	c2, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"gate": "k"}`
	io.WriteString(c2, "POST /v1/tools/gate/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+aliceKey+
		"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	wait(t, ts.gates.started, "the tool to start")
	c2.(*net.TCPConn).SetLinger(0)
	c2.Close()
	if got := wait(t, ts.gates.ended, "the tool to see the client leave"); got != "k:cancelled" {
		t.Fatalf("the tool ended %s", got)
	}
	ts.waitInFlight(0)
	ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "1+1"}`), 200, "")
	m := string(ts.do("GET", "/metrics", "").body)
	if !strings.Contains(m, `spellhost_http_requests_total{code="499",route="POST /v1/tools/{name}/invoke"} 1`) {
		t.Fatalf("the gone client is not counted as 499:\n%s", grep(m, "spellhost_http_requests_total"))
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
