package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"spellhost/host/report"
	"spellhost/host/report/browsertest"
)

// pageData extracts the JSON the page script reads.
func pageData(t *testing.T, html string) report.PageData {
	t.Helper()
	const open = `<script id="report-data" type="application/json">`
	i := strings.Index(html, open)
	if i < 0 {
		t.Fatal("no #report-data element")
	}
	rest := html[i+len(open):]
	j := strings.Index(rest, "</script>")
	var pd report.PageData
	if err := json.Unmarshal([]byte(rest[:j]), &pd); err != nil {
		t.Fatalf("page data: %v", err)
	}
	return pd
}

func TestHTMLReportEscapesAndCarriesEverything(t *testing.T) {
	res := fixture(t, 90)
	var b bytes.Buffer
	if err := report.WriteHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, `<img src=x`) || strings.Contains(out, `</script><img`) {
		t.Fatalf("a run string reached the page unescaped")
	}
	for _, want := range []string{
		"&lt;img src=x", "<h2>Scenarios</h2>", "<h2>Thresholds</h2>", "<h2>Checks</h2>", "<h2>Tools</h2>",
		"<h2>Requests by name</h2>", "GET /items", "<h2>Errors</h2>", "<h2>Fault rules</h2>", "<h2>Memory</h2>",
		"<h2>tasks</h2>", "<h2>Options</h2>", "status is 200", "MIT License", "uPlot",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(out, "http://") && strings.Contains(out, `src="http`) || strings.Contains(out, `href="http`) {
		t.Error("the report loads something from the network")
	}
	pd := pageData(t, out)
	m := report.NewModel(res)
	if pd.Live || len(pd.Charts) != len(m.Charts) {
		t.Fatalf("page data: live %v, %d charts; model %d", pd.Live, len(pd.Charts), len(m.Charts))
	}
	var ids []string
	for _, c := range pd.Charts {
		ids = append(ids, c.ID)
		for i, col := range c.Data {
			if len(col) != len(c.X) {
				t.Errorf("chart %s series %d: %d values for %d x", c.ID, i, len(col), len(c.X))
			}
		}
	}
	if got := strings.Join(ids, ","); got != "throughput,latency-1,latency-2,errors,vus,dropped,memory" {
		t.Errorf("charts %s", got)
	}
}

// The report of a ten-hour run is as bounded as a ten-second one.
func TestHTMLReportSizeIsBounded(t *testing.T) {
	var short, long bytes.Buffer
	if err := report.WriteHTML(&short, fixture(t, 10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := report.WriteHTML(&long, fixture(t, 10*3600)); err != nil {
		t.Fatal(err)
	}
	t.Logf("report sizes: 10 s run %d bytes, 10 h run %d bytes (rendered in %v)", short.Len(), long.Len(), time.Since(start).Round(time.Millisecond))
	for _, c := range pageData(t, long.String()).Charts {
		if len(c.X) > 2000 {
			t.Errorf("chart %s has %d points", c.ID, len(c.X))
		}
	}
	if long.Len() > 4<<20 {
		t.Errorf("the ten-hour report is %d bytes", long.Len())
	}
}

func BenchmarkHTMLReport10h(b *testing.B) {
	res := fixture(b, 10*3600)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := report.WriteHTML(&buf, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}

// Every chart of the report draws in a real browser, with no console
// error, a canvas and the series the model laid out.
func TestHTMLReportInBrowser(t *testing.T) {
	br := sharedBrowser(t)
	for _, tc := range []struct {
		name    string
		seconds int
	}{{"10s", 10}, {"10h", 10 * 3600}} {
		t.Run(tc.name, func(t *testing.T) {
			res := fixture(t, tc.seconds)
			dir := t.ArtifactDir()
			path := filepath.Join(dir, "report-"+tc.name+".html")
			var b bytes.Buffer
			if err := report.WriteHTML(&b, res); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			p := br.Open(t, "file://"+path)
			checkCharts(t, p, report.NewModel(res).Charts)
			if pwned := browsertest.Eval[bool](t, p, "window.pwned === 1"); pwned {
				t.Error("a run string ran as script")
			}
			shot := filepath.Join(dir, "report-"+tc.name+".png")
			p.Screenshot(t, shot)
			t.Logf("screenshot: %s", shot)
		})
	}
}

// checkCharts compares the charts a page drew with the model's.
func checkCharts(t *testing.T, p *browsertest.Page, want []report.Chart) {
	t.Helper()
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	got := browsertest.Charts(t, p)
	byID := map[string]browsertest.ChartInfo{}
	for _, c := range got {
		byID[c.ID] = c
	}
	if len(got) != len(want) {
		t.Errorf("%d charts drawn, %d laid out", len(got), len(want))
	}
	for _, w := range want {
		c, ok := byID[w.ID]
		switch {
		case !ok:
			t.Errorf("chart %s was not drawn", w.ID)
		case !c.Canvas || c.Width == 0:
			t.Errorf("chart %s has no canvas", w.ID)
		case c.Series != len(w.Series):
			t.Errorf("chart %s: %d series drawn, %d laid out", w.ID, c.Series, len(w.Series))
		case c.Points != len(w.X):
			t.Errorf("chart %s: %d points drawn, %d laid out", w.ID, c.Points, len(w.X))
		case c.Visible == 0:
			t.Errorf("chart %s: every series is empty", w.ID)
		}
	}
}
