package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/report/browsertest"
)

const shortRun = `
options = {scenarios = {s = {executor = "constant-vus", vus = 2, duration = "1500ms"}},
  thresholds = {["iteration_duration"] = {"p(99)<5000"}}}
function default()
  check(Tool.invoke("calculator", {input = "2+3"}), {["is five"] = function(r) return r.result == 5 end})
  sleep(0.01)
end`

// Every output of one run: the HTML or Markdown report by extension, the
// JUnit file, the point stream, the summary JSON and the step summary.
func TestRunWritesEveryOutput(t *testing.T) {
	dir := t.TempDir()
	p := script(t, shortRun)
	step := filepath.Join(dir, "step.md")
	if err := os.WriteFile(step, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gs, _, errb := testState(t, map[string]string{"GITHUB_STEP_SUMMARY": step})
	f := func(name string) string { return filepath.Join(dir, name) }
	code := Main(gs, []string{"run", "-q", "--report", f("r.html"), "--out", "junit=" + f("j.xml"), "--out", "json=" + f("p.json"),
		"--summary-json", f("s.json"), p})
	if code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	html := read(t, f("r.html"))
	for _, want := range []string{"<!doctype html>", `<script id="report-data" type="application/json">`, `"id":"throughput"`, "is five", "uPlot"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(read(t, f("j.xml"))), &suites); err != nil || suites.Tests != 4 || suites.Failures != 0 {
		t.Errorf("junit: %+v %v\n%s", suites, err, read(t, f("j.xml")))
	}
	var sum struct {
		Version int
		Metrics []struct {
			Name string
			Hdr  *struct{ Pos string }
		}
		Curves *struct{ T []float64 }
	}
	if err := json.Unmarshal([]byte(read(t, f("s.json"))), &sum); err != nil || sum.Version != 2 || sum.Curves == nil || len(sum.Curves.T) == 0 {
		t.Fatalf("summary: %v %+v", err, sum)
	}
	hdr := false
	for _, m := range sum.Metrics {
		hdr = hdr || m.Name == "iteration_duration" && m.Hdr != nil && m.Hdr.Pos != ""
	}
	if !hdr {
		t.Error("the summary lacks iteration_duration's histogram")
	}
	if s := read(t, f("step.md")); !strings.HasPrefix(s, "earlier step\n") || !strings.Contains(s, "# spellhost report:") {
		t.Errorf("step summary:\n%s", s)
	}
	if !strings.Contains(read(t, f("p.json")), `"metric":"iterations"`) {
		t.Error("the point stream is empty")
	}
	// .md, or no known extension: Markdown.
	code = Main(gs, []string{"run", "-q", "--report", f("r.md"), p})
	if code != 0 || !strings.HasPrefix(read(t, f("r.md")), "# spellhost report:") {
		t.Errorf("markdown report: code %d", code)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunOutputFlagsBadInput(t *testing.T) {
	dir := t.TempDir()
	ok := script(t, "print(1)")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--out", "xml=x.xml"}, "--out xml=x.xml: want json=FILE, csv=FILE, per-second=FILE, junit=FILE"},
		{[]string{"--out", "junit"}, "want json=FILE, csv=FILE, per-second=FILE, junit=FILE"},
		{[]string{"--out", "junit="}, "want json=FILE, csv=FILE, per-second=FILE, junit=FILE"},
		{[]string{"--out", "per-second=" + filepath.Join(dir, "a.json"), "--out", "per-second=" + filepath.Join(dir, "b.json")}, "--out per-second=FILE may be given once"},
		{[]string{"--out", "json=" + filepath.Join(dir, "a.json"), "--out", "csv=" + filepath.Join(dir, "a.json")}, "another --out writes"},
		{[]string{"--out", "junit=/nonexistent/j.xml"}, "--out junit=/nonexistent/j.xml: folder /nonexistent does not exist"},
		{[]string{"--out", "junit=" + filepath.Join(dir, "a.xml"), "--out", "junit=" + filepath.Join(dir, "b.xml")}, "--out junit=FILE may be given once"},
		{[]string{"--out", "json=/nonexistent/p.json"}, "--out json=/nonexistent/p.json"},
		{[]string{"--report", "/nonexistent/r.html"}, "folder /nonexistent does not exist"},
		{[]string{"--dashboard=nonsense"}, "--dashboard=nonsense: dashboard address \"nonsense\": want HOST:PORT"},
		{[]string{"--dashboard=127.0.0.1:99999"}, "is not a number from 0 to 65535"},
		{[]string{"--dashboard=" + busy.Addr().String()}, "address already in use"},
		{[]string{"--dashboard-open"}, "--dashboard-open needs --dashboard"},
	}
	for _, c := range cases {
		args := append(append([]string{"run"}, c.args...), ok)
		code, _, errOut := run(t, args...)
		if code != exitcode.Usage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d containing %q", c.args, code, errOut, exitcode.Usage, c.msg)
		}
	}
	// Files that cannot be written at the end: the run's code says so.
	gs, _, errb := testState(t, map[string]string{"GITHUB_STEP_SUMMARY": dir})
	code := Main(gs, []string{"run", "-q", "--report", dir, script(t, shortRun)})
	if code != exitcode.Failure || !strings.Contains(errb.String(), "--report "+dir) || !strings.Contains(errb.String(), "GITHUB_STEP_SUMMARY: ") {
		t.Errorf("unwritable outputs: code %d, %q", code, errb.String())
	}
}

// syncBuffer is a stream a test reads while the run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A run with --dashboard on a random loopback port: a client reads the
// updates over SSE and the final event, and the page loads in a browser.
func TestRunDashboard(t *testing.T) {
	p := script(t, strings.Replace(shortRun, `duration = "1500ms"`, `duration = "6s"`, 1))
	gs, _, _ := testState(t, nil)
	errb := &syncBuffer{}
	gs.stderr = errb
	var opened []string
	gs.openURL = func(u string) error { opened = append(opened, u); return nil }
	done := make(chan exitcode.Code, 1)
	go func() { done <- Main(gs, []string{"run", "-q", "--dashboard=127.0.0.1:0", "--dashboard-open", p}) }()
	urlRE := regexp.MustCompile(`dashboard: (http://127\.0\.0\.1:\d+/)`)
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if m := urlRE.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no dashboard address in %q", errb.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	resp, err := http.Get(url + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	events := map[string]int{}
	var page *browsertest.Page
	for events["done"] == 0 {
		name := readEventName(t, r)
		events[name]++
		if events["update"] == 1 && name == "update" && page == nil {
			if br, ok := tryBrowser(t); ok {
				page = br.Open(t, url)
			}
		}
	}
	if events["update"] < 3 {
		t.Errorf("events %v: want at least 3 updates", events)
	}
	if code := <-done; code != 0 {
		t.Fatalf("run: code %d: %s", code, errb.String())
	}
	if len(opened) != 1 || opened[0] != url {
		t.Errorf("--dashboard-open opened %v", opened)
	}
	if page != nil {
		page.WaitFor(t, "window.spellhostDone === true", 30*time.Second)
		if errs := page.Errors(); len(errs) > 0 {
			t.Errorf("console errors: %q", errs)
		}
		if n := browsertest.Eval[int](t, page, "Object.keys(window.spellhostCharts).length"); n < 4 {
			t.Errorf("the live page drew %d charts", n)
		}
		page.Screenshot(t, filepath.Join(t.ArtifactDir(), "dashboard.png"))
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the dashboard still answers after the run")
	}
}

// tryBrowser returns the shared browser, or logs why there is none.
func tryBrowser(t *testing.T) (*browsertest.Browser, bool) {
	b, skip := browsertest.TryShared()
	if b == nil {
		t.Logf("the page is not loaded in a browser: %s", skip)
		return nil, false
	}
	return b, true
}

func readEventName(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	name := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "event: ") {
			name = strings.TrimPrefix(line, "event: ")
		}
		if line == "" && name != "" {
			return name
		}
	}
}
