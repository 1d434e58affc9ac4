package report_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	json "github.com/go-json-experiment/json"

	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/result"
)

// sample returns a result with one of everything a report shows.
func sample() *result.Run {
	return &result.Run{
		Version: result.Version, Script: "stress.lua", Seed: 42,
		Start: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Duration: 2.5, Status: "failed",
		Scenarios: []result.Scenario{{
			Name: "rapid", Executor: result.ConstantArrivalRate, Duration: 2, Iterations: 1000, Rate: 500,
			Errors: 3, Timeouts: 1, Dropped: 7, SuccessRate: 0.996,
			Latency:      metrics.Stats{Count: 1000, Avg: 1.5, Min: 0.1, Med: 1.2, P90: 2, P95: 3, P99: 9, Max: 12},
			Service:      metrics.Stats{Count: 1000, Avg: 1.1, Med: 1.0, P95: 2.5, P99: 8},
			ErrorsByType: map[string]int64{"execution_error": 2, "script_error": 1},
			FirstErrors:  []result.ErrorEntry{{Message: "boom | pipe\nsecond line", Count: 2}},
			Checks:       []result.Check{{Name: "is ok", Passes: 999, Fails: 1}},
		}},
		Thresholds: []result.Threshold{
			{Metric: "iteration_duration", Expr: "p(95)<2", Value: 3, Unit: "ms", Pass: false},
			{Metric: "checks", Expr: "rate>0.99", Value: 0.999, Pass: true},
			{Metric: "custom", Expr: "count>0", Pass: true, NoData: true},
		},
		Tools: []result.Tool{{Tool: "calculator", Calls: 1000, Outcomes: map[string]int64{"ok": 998, "execution_error": 2},
			Latency: metrics.Stats{Count: 1000, Avg: 0.01, P95: 0.02, P99: 0.05}}},
		Memory: result.Memory{
			Samples: []metrics.MemSample{{Seconds: 0, RSS: 30 << 20, HeapLive: 4 << 20, Goroutines: 5}, {Seconds: 1, RSS: 31 << 20, HeapLive: 4 << 20, Goroutines: 5}},
			Peak:    metrics.MemSample{RSS: 31 << 20, Goroutines: 5},
			Leak:    metrics.LeakReport{Verdict: metrics.NoLeak, Reason: "heap flat", StartHeap: 4 << 20, EndHeap: 4 << 20, SlopeUnit: "bytes per 1000 iterations"},
		},
		Timeline: []metrics.Point{{T: 1, Iterations: 500, P95: 3}, {T: 2, Iterations: 500, P95: 2}},
		Faults:   []result.Fault{{Target: "tool:calculator", Rule: "50%error(timeout)", Calls: 10, Hits: 4, Active: true, LeakedBytes: 2 << 20}},
		Sections: []result.Section{{Title: "tasks", Rows: [][]string{{"submitted", "10"}, {}}}},
	}
}

func TestSummaryShowsEverything(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteSummary(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"stress.lua", "seed 42", "✗ thresholds failed", "scenario rapid (constant-arrival-rate)",
		"1,000", "success 99.60%", "service time", "execution_error 2", "script_error 1",
		"iteration timeouts 1", "dropped 7", "2× boom | pipe", "is ok  999/1,000",
		"calculator", "✗ iteration_duration: p(95)<2", "(no data)", "verdict: no leak", "tasks", "submitted",
		"faults (seed 42", "tool:calculator=50%error(timeout)", "4 hits / 10 calls  active  holding 2.0 MiB",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "second line") {
		t.Errorf("summary shows more than an error's first line:\n%s", out)
	}
}

func TestMarkdownShowsEverything(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# spellhost report: stress.lua", "**Seed:** 42", "FAILED", "| rapid | constant-arrival-rate | 1,000 |",
		"### rapid", "iteration_duration", "no leak", "## Fault rules", "| tool:calculator | 50%error(timeout) | 10 | 4 | ✅ |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "boom | pipe") {
		t.Errorf("a | inside a table cell is not escaped:\n%s", out)
	}
}

func TestSummaryJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	in := sample()
	if err := report.WriteSummaryJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	var out result.Run
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("summary JSON does not parse: %v\n%s", err, b.String())
	}
	if out.Version != result.Version || out.Seed != 42 || len(out.Scenarios) != 1 ||
		out.Scenarios[0].Dropped != 7 || len(out.Thresholds) != 3 || out.Memory.Leak.Verdict != metrics.NoLeak {
		t.Fatalf("round trip lost data: %+v", out)
	}
}

func TestPointWriter(t *testing.T) {
	st := metrics.NewStore()
	buf := st.NewBuffer(0, time.Second)
	def, err := st.Define("lat", metrics.Trend, metrics.Time)
	if err != nil {
		t.Fatal(err)
	}
	s := buf.Series(def, metrics.Tags(map[string]string{"tool": "calculator"}))
	for i := 1; i <= 100; i++ {
		buf.Add(s, float64(i))
	}
	buf.Flush()
	var b bytes.Buffer
	pw := report.NewPointWriter(&b)
	elapsed, ws := st.Tick(time.Now())
	if err := pw.WritePoints(time.Unix(0, 0), elapsed, ws); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var found bool
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if m["metric"] == "lat" {
			found = true
			if m["count"] != 100.0 || m["max"] != 100.0 || m["tags"].(map[string]any)["tool"] != "calculator" {
				t.Fatalf("point %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no point for lat in %q", b.String())
	}
}

// TestSummaryJSONNonFinite: a figure that is not a finite number (a
// counter whose sum overflowed) is written as null, not a failure.
func TestSummaryJSONNonFinite(t *testing.T) {
	res := &result.Run{Version: 1, Status: "passed", Duration: math.Inf(1),
		Metrics: []result.Metric{{Name: "big", Kind: "counter", Stats: metrics.Stats{Sum: math.Inf(1), Min: math.NaN()}}},
		Dropped: []metrics.Dropped{{Metric: "per_user", Samples: 12}}, MaxSeries: 1000}
	var b strings.Builder
	if err := report.WriteSummaryJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if back["duration_s"] != nil || back["metrics"].([]any)[0].(map[string]any)["stats"].(map[string]any)["sum"] != nil {
		t.Fatalf("non-finite figures: %s", b.String())
	}
	if d := back["dropped_samples"].([]any)[0].(map[string]any); d["metric"] != "per_user" || d["samples"] != 12.0 {
		t.Fatalf("dropped: %v", d)
	}
	var sum, md strings.Builder
	if err := report.WriteSummary(&sum, res); err != nil || !strings.Contains(sum.String(), "per_user") || !strings.Contains(sum.String(), "1,000 per metric") {
		t.Fatalf("summary: %v %s", err, sum.String())
	}
	if err := report.WriteMarkdown(&md, res); err != nil || !strings.Contains(md.String(), "| per_user | 12 |") {
		t.Fatalf("markdown: %v %s", err, md.String())
	}
}
