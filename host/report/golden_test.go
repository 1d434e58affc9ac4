package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/result"
)

// update rewrites the golden files from what the code writes now:
// go test ./host/report -run Golden -update, then review the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenRun is a failed run with one of every field the summary, the
// Markdown report and the summary JSON show. Every figure is fixed: no
// clock, no random source.
func goldenRun(t testing.TB) *result.Run {
	t.Helper()
	st := metrics.NewStore()
	lat, _ := st.Def(metrics.IterationDuration)
	calls, _ := st.Def(metrics.ToolCalls)
	checks, _ := st.Def(metrics.Checks)
	req, err := st.Define("req_duration", metrics.Trend, metrics.Time)
	if err != nil {
		t.Fatal(err)
	}
	latS := st.Series(lat, "scenario=api")
	reqS := st.Series(req, metrics.Tags(map[string]string{"name": "GET /items", "status": "200"}))
	for i := 1; i <= 200; i++ {
		st.Add(latS, float64(i%50)/4+0.5)
		st.Add(reqS, float64(i%20)+1)
	}
	st.Add(st.Series(calls, metrics.Tags(map[string]string{"tool": "calculator", "outcome": "ok"})), 398)
	st.Add(st.Series(checks, metrics.Tags(map[string]string{"check": "sum is right", "scenario": "api"})), 1)
	iters, _ := st.Def(metrics.Iterations)
	st.Add(st.Series(iters, "scenario=api"), 200)
	st.Add(st.Series(iters, "scenario=paced"), 100)
	vus, _ := st.Def(metrics.VUs)
	for _, v := range []float64{1, 4, 4, 3} {
		st.Add(st.Series(vus, ""), v)
	}
	var totals []result.Total
	for _, q := range []metrics.Query{{Metric: "checks"}, {Metric: "iteration_duration"}, {Metric: "iterations"},
		{Metric: "req_duration"}, {Metric: "tool_calls"}, {Metric: "vus"},
		{Metric: "iterations", Tags: map[string]string{"scenario": "api"}}, {Metric: "iterations", Tags: map[string]string{"scenrio": "api"}}} {
		s, def, _ := st.Stats(q, 20)
		totals = append(totals, result.Total{Name: q.String(), Metric: q.Metric, Tags: q.Tags, Kind: def.Kind.String(),
			Contains: def.Unit.Contains(), Values: metrics.SummaryValues(def.Kind, s, metrics.DefaultTrendStats), Count: s.Count})
	}
	var ms []result.Metric
	for _, w := range st.All(20) {
		unit := ""
		if w.Series.Def.Unit == metrics.Time {
			unit = "ms"
		}
		ms = append(ms, result.Metric{Name: w.Series.Def.Name, Tags: w.Series.TagMap(), Kind: w.Series.Def.Kind.String(),
			Unit: unit, Stats: w.Stats, Hist: w.Stats.Hist()})
	}
	latStats, _, _ := st.Stats(metrics.Query{Metric: metrics.IterationDuration}, 20)

	var curves metrics.Curves
	var timeline []metrics.Point
	var samples []metrics.MemSample
	for s := 1; s <= 20; s++ {
		heap := 40e6 + float64(s)*1.5e6
		curves.Add(metrics.CurveSample{T: float64(s), Span: 1, Values: []metrics.CurveValue{
			{Name: result.CurveIterations, Tags: "scenario=api", V: 10, PerSecond: true},
			{Name: result.CurveIterations, Tags: "scenario=paced", V: 5, PerSecond: true},
			{Name: result.CurveDropped, Tags: "scenario=paced", V: float64(s % 2), PerSecond: true},
			{Name: result.CurveP99, Tags: "scenario=api", V: 12.5},
			{Name: result.CurveVUs, V: 4},
			{Name: result.CurveHeapLive, V: heap},
		}})
		timeline = append(timeline, metrics.Point{T: float64(s), Iterations: 15, ToolCalls: 20, Errors: 0.5,
			P50: 3, P90: 8, P95: 9.5, P99: 12.5, VUs: 4, RSS: uint64(2 * heap), HeapLive: uint64(heap), Goroutines: 12})
		at := time.Duration(s) * time.Second
		samples = append(samples, metrics.MemSample{At: at, Seconds: at.Seconds(), RSS: uint64(2 * heap), HeapLive: uint64(heap),
			Goroutines: 12, Iterations: int64(15 * s)})
	}
	leak := metrics.JudgeLeak(samples, metrics.LeakConfig{WarnBytes: 10 << 20, FailBytes: 50 << 20})

	thr := []result.Threshold{
		{Metric: "iteration_duration", Expr: "p(95)<10", Value: 12.125, Unit: "ms", Pass: false, AbortedRun: true},
		{Metric: "checks", Expr: "rate>0.99", Value: 0.995, Pass: true},
		{Metric: "iterations{scenario:api}", Expr: "count>0", Value: 200, Pass: true},
		{Metric: "custom_bytes", Expr: "max<1MB", Unit: "bytes", Pass: false, NoData: true,
			Reason: "custom_bytes received no value: the gauge custom_bytes was never recorded"},
		{Metric: "iterations{scenrio:api}", Expr: "count<1000", Value: 0, Pass: true, NoData: true, UnknownTagKeys: []string{"scenrio"},
			Warning: "the tag key scenrio never appeared on iterations (its values carry scenario)"},
	}
	var errs []result.ErrorEntry
	for i := 1; i <= 5; i++ {
		errs = append(errs, result.ErrorEntry{Type: "execution_error", Message: fmt.Sprintf("tool calculator: error %d | piped\nsecond line", i), Count: int64(6 - i)})
	}
	return &result.Run{
		Version: result.Version, Script: "scripts/api.lua", Seed: 42,
		Start: time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC), Duration: 20.25, Status: "failed",
		Scenarios: []result.Scenario{
			{Name: "api", Executor: result.ConstantVUs, Tags: map[string]string{"team": "core", "tier": "1"}, Duration: 20,
				Iterations: 200, Rate: 10, Errors: 15, Timeouts: 2, Interrupted: 3, SuccessRate: 0.915, Latency: latStats,
				ErrorsByType: map[string]int64{"execution_error": 15}, FirstErrors: errs, OtherErrors: 4,
				Checks:     []result.Check{{Name: "sum is right", Scenario: "api", Passes: 199, Fails: 1}},
				Thresholds: []result.Threshold{thr[2]}},
			{Name: "paced", Executor: result.ConstantArrivalRate, Duration: 20, Iterations: 100, Rate: 5, Dropped: 10, MaxVUs: 10, SuccessRate: 1,
				Latency: metrics.Stats{Count: 100, Avg: 2.5, Min: 0.25, Med: 2, P90: 4, P95: 5, P99: 8, Max: 9},
				Service: metrics.Stats{Count: 100, Avg: 1.5, Min: 0.25, Med: 1, P90: 3, P95: 4, P99: 6, Max: 7}},
		},
		Thresholds: thr,
		Checks:     []result.Check{{Name: "sum is right", Scenario: "api", Passes: 199, Fails: 1}},
		Tools: []result.Tool{{Tool: "calculator", Calls: 400, Outcomes: map[string]int64{"ok": 398, "execution_error": 2},
			Latency: metrics.Stats{Count: 400, Avg: 0.125, Min: 0.0625, Med: 0.125, P90: 0.25, P95: 0.25, P99: 0.5, Max: 1}}},
		Metrics:       ms,
		Totals:        totals,
		TrendStats:    metrics.DefaultTrendStats,
		OutputDropped: 7,
		MaxSeries:     1000,
		Dropped:       []metrics.Dropped{{Metric: "per_user", Samples: 12}},
		Memory: result.Memory{Samples: samples, Peak: metrics.MemSample{RSS: 140e6, HeapLive: 70e6, Goroutines: 14},
			Limit: 1 << 30, Leak: leak},
		Timeline:   timeline,
		Curves:     curves.Set(),
		RunOptions: map[string]any{"scenarios": map[string]any{"api": map[string]any{"executor": "constant-vus", "vus": 4.0, "duration": "20s"}}},
		Kernel:     result.Kernel{Tools: 30, Calls: 400, Abandoned: 1},
		Faults: []result.Fault{{Target: "tool:calculator", Rule: "1%error(timeout)", Calls: 400, Hits: 4, TermHits: []int64{4}, Active: true},
			{Target: "task:*", Rule: "leak(goroutine)->off", Calls: 1, Hits: 1, TermHits: []int64{1}, ParkedGoroutines: 1}},
		Sections: []result.Section{{Title: "tasks", Rows: [][]string{{"submitted", "10", "(0 refused: queue full)"}, {"succeeded", "10"}, {}}}},
	}
}

// goldenStopped is a top-to-bottom run that a limit stopped before the
// memory sampler had enough data for a verdict.
func goldenStopped() *result.Run {
	return &result.Run{
		Version: result.Version, Script: "oneshot.lua", Seed: 1,
		Start: time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC), Duration: 0.75, Status: "memory_limit",
		StopReason:  "resident memory 1.1 GiB passed --max-memory 1.0 GiB",
		TopToBottom: true,
		Checks:      []result.Check{{Name: "loaded", Passes: 1}, {Name: "parsed", Fails: 1}},
		MaxSeries:   1000,
		Memory: result.Memory{
			Samples: []metrics.MemSample{{At: 500 * time.Millisecond, Seconds: 0.5, RSS: 1 << 30, HeapLive: 900 << 20, Goroutines: 8}},
			Peak:    metrics.MemSample{RSS: 1200 << 20, HeapLive: 950 << 20, Goroutines: 9},
			Limit:   1 << 30,
			Leak:    metrics.JudgeLeak([]metrics.MemSample{{Seconds: 0.5, RSS: 1 << 30, HeapLive: 900 << 20, Goroutines: 8}}, metrics.LeakConfig{}),
		},
		Kernel: result.Kernel{Tools: 30, Calls: 3},
	}
}

// TestGolden compares the console summary, the Markdown report and the
// summary JSON of fixed runs with testdata/*.golden. When an output
// changes on purpose, rewrite them with -update and review the diff.
func TestGolden(t *testing.T) {
	runs := map[string]*result.Run{"full": goldenRun(t), "stopped": goldenStopped()}
	writers := map[string]func(io.Writer, *result.Run) error{
		"summary.txt": report.WriteSummary, "report.md": report.WriteMarkdown, "summary.json": report.WriteSummaryJSON,
	}
	for run, res := range runs {
		for ext, write := range writers {
			name := run + "." + ext
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				if err := write(&b, res); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./host/report -run Golden -update to write it)", err)
				}
				if d := goldenDiff(want, b.Bytes()); d != "" {
					t.Errorf("%s differs from %s (if the change is meant, run go test ./host/report -run Golden -update and review the diff):\n%s", name, path, d)
				}
			})
		}
	}
}

// goldenDiff describes the first lines where got differs from want, or
// returns "" when they are equal byte for byte.
func goldenDiff(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 5; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			fmt.Fprintf(&b, "line %d\n  want %q\n  got  %q\n", i+1, w, g)
			shown++
		}
	}
	if len(wl) != len(gl) {
		fmt.Fprintf(&b, "want %d lines, got %d\n", len(wl), len(gl))
	}
	if b.Len() == 0 {
		b.WriteString("the files differ in bytes the line split does not show\n")
	}
	return b.String()
}

// TestGoldenDiff: a change anywhere, a missing or an extra line is told;
// equal outputs are not.
func TestGoldenDiff(t *testing.T) {
	base := []byte("a\nb\nc\n")
	for _, c := range []struct {
		got  string
		want string // in the description, "" for equal
	}{
		{"a\nb\nc\n", ""},
		{"a\nB\nc\n", `line 2`},
		{"a\nb\n", "want 4 lines, got 3"},
		{"a\nb\nc\nd\n", `got  "d"`},
		{"a\nb\nc", "want 4 lines, got 3"},
	} {
		d := goldenDiff(base, []byte(c.got))
		if (c.want == "") != (d == "") || !strings.Contains(d, c.want) {
			t.Errorf("%q: diff %q, want it to mention %q", c.got, d, c.want)
		}
	}
}
