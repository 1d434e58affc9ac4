package report_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/report/browsertest"
	"spellhost/host/result"
)

// sseEvent reads one server-sent event.
func sseEvent(t *testing.T, r *bufio.Reader) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v (after %q %q)", err, name, data)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if name != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func second(s int) metrics.CurveSample {
	return metrics.CurveSample{T: float64(s), Span: 1, Values: []metrics.CurveValue{
		{Name: result.CurveIterations, Tags: "scenario=a", V: float64(100 + s), PerSecond: true},
		{Name: result.CurveP50, Tags: "scenario=a", V: 2},
		{Name: result.CurveP99, Tags: "scenario=a", V: 9},
		{Name: result.CurveToolCalls, V: 300, PerSecond: true},
		{Name: result.CurveVUs, V: 4},
		{Name: result.CurveRSS, V: 50e6}, {Name: result.CurveHeapLive, V: 20e6}, {Name: result.CurveGoroutines, V: 12},
	}}
}

func TestDashboardStreams(t *testing.T) {
	d, err := report.NewDashboard("127.0.0.1:0", "live"+hostile+".lua")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Second(second(1))
	resp, err := http.Get(d.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	name, data := sseEvent(t, r)
	var snap report.PageData
	if err := json.Unmarshal([]byte(data), &snap); name != "snapshot" || err != nil || len(snap.Charts) == 0 || len(snap.Charts[0].X) != 1 {
		t.Fatalf("first event %s %v: %.200s", name, err, data)
	}
	for s := 2; s <= 4; s++ {
		d.Second(second(s))
		name, data := sseEvent(t, r)
		var up struct {
			X       float64
			Replace bool
			Columns map[string][]*float64
		}
		if err := json.Unmarshal([]byte(data), &up); name != "update" || err != nil || up.X != float64(s) || up.Replace {
			t.Fatalf("second %d: %s %v %s", s, name, err, data)
		}
		if col := up.Columns["throughput"]; len(col) == 0 || col[0] == nil || *col[0] != float64(100+s) {
			t.Fatalf("second %d: throughput column %v", s, col)
		}
	}
	// A new error type changes the layout: a snapshot, not an update.
	s5 := second(5)
	s5.Values = append(s5.Values, metrics.CurveValue{Name: result.CurveErrors, Tags: "type=timeout", V: 1, PerSecond: true})
	d.Second(s5)
	if name, data := sseEvent(t, r); name != "snapshot" || !strings.Contains(data, `"errors"`) {
		t.Fatalf("after a new curve: %s %.200s", name, data)
	}
	res := fixture(t, 30)
	go d.Finish(res, 5*time.Second)
	name, data = sseEvent(t, r)
	var done struct {
		Status string
		Passed bool
		Tables string
	}
	if err := json.Unmarshal([]byte(data), &done); name != "done" || err != nil || done.Status != "failed" || done.Passed {
		t.Fatalf("done: %s %v %.300s", name, err, data)
	}
	if !strings.Contains(done.Tables, "&lt;img src=x") || strings.Contains(done.Tables, "<img src=x") {
		t.Errorf("the final tables are not escaped: %.500s", done.Tables)
	}
	d.Close()
	if _, err := http.Get(d.URL()); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestDashboardBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, addr := range []string{"nonsense", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:99999", "127.0.0.1:-1", ln.Addr().String(), "256.0.0.1:0"} {
		d, err := report.NewDashboard(addr, "s.lua")
		if err == nil {
			d.Close()
			t.Errorf("%q: no error", addr)
			continue
		}
		if !errors.Is(err, report.ErrDashboardAddr) || !strings.Contains(err.Error(), addr) {
			t.Errorf("%q: %v", addr, err)
		}
	}
	// A loopback dashboard does not answer a name a web page could
	// rebind to 127.0.0.1.
	d, err := report.NewDashboard("127.0.0.1:0", "s.lua")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	req, _ := http.NewRequest("GET", d.URL(), nil)
	req.Host = "attacker.example:5665"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: status %d", resp.StatusCode)
	}
	resp, err = http.Post(d.URL()+"events", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", resp.StatusCode)
	}
}

// The live page draws, follows the updates and becomes the report.
func TestDashboardInBrowser(t *testing.T) {
	br := sharedBrowser(t)
	d, err := report.NewDashboard("127.0.0.1:0", "live.lua")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Second(second(1))
	p := br.Open(t, d.URL())
	p.WaitFor(t, "Object.keys(window.spellhostCharts).length > 0", 30*time.Second)
	for s := 2; s <= 5; s++ {
		d.Second(second(s))
	}
	p.WaitFor(t, "window.spellhostUpdates >= 3 || window.spellhostCharts.throughput.data[0].length >= 5", 30*time.Second)
	if n := browsertest.Eval[int](t, p, "window.spellhostCharts.throughput.data[0].length"); n != 5 {
		t.Errorf("the throughput chart holds %d points, want 5", n)
	}
	res := fixture(t, 30)
	go d.Finish(res, 10*time.Second)
	p.WaitFor(t, "window.spellhostDone === true", 30*time.Second)
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	if pwned := browsertest.Eval[bool](t, p, "window.pwned === 1"); pwned {
		t.Error("a run string ran as script")
	}
	if txt := browsertest.Eval[string](t, p, "document.getElementById('status').textContent"); txt != "failed" {
		t.Errorf("status %q", txt)
	}
	p.Screenshot(t, t.ArtifactDir()+"/dashboard.png")
}
