package report_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// hostile is a run string that would break a page that did not escape it.
const hostile = `</script><img src=x onerror="window.pwned=1">&amp;"'`

// fixture returns the result of a run of the given length, shaped as a
// real one: two scenarios (one paced, which drops iterations), errors of
// two types, a latency spike, a slowly leaking heap, and strings from the
// script that try to break out of the page.
func fixture(t testing.TB, seconds int) *result.Run {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(seconds)))
	var curves metrics.Curves
	var samples []metrics.MemSample
	st := metrics.NewStore()
	lat, _ := st.Def(metrics.IterationDuration)
	req, err := st.Define("http_req_duration", metrics.Trend, metrics.Time)
	if err != nil {
		t.Fatal(err)
	}
	latS := st.Series(lat, "scenario=steady")
	reqA := st.Series(req, metrics.Tags(map[string]string{"name": "GET /items", "status": "200"}))
	reqB := st.Series(req, metrics.Tags(map[string]string{"name": hostile}))
	var iters int64
	stride, skipped := 1, 0
	heap := 40e6
	for s := 1; s <= seconds; s++ {
		steady := 180 + 20*rng.Float64()
		paced := 50.0
		dropped := 0.0
		p99 := 12 + 3*rng.Float64()
		if s%997 == 0 || s == seconds/2 {
			p99, dropped = 250, 7
		}
		for range 3 {
			v := 2 + rng.ExpFloat64()*3
			st.Add(latS, v)
			st.Add(reqA, v/2)
		}
		st.Add(reqB, 1+rng.Float64())
		iters += int64(steady + paced)
		heap += 300 + 200*rng.Float64()
		vals := []metrics.CurveValue{
			{Name: result.CurveIterations, Tags: "scenario=steady", V: steady, PerSecond: true},
			{Name: result.CurveIterations, Tags: "scenario=paced", V: paced - dropped, PerSecond: true},
			{Name: result.CurveDropped, Tags: "scenario=paced", V: dropped, PerSecond: true},
			{Name: result.CurveToolCalls, V: 3 * steady, PerSecond: true},
			{Name: result.CurveVUs, V: 12},
			{Name: result.CurveRSS, V: heap * 2.1},
			{Name: result.CurveHeapLive, V: heap},
			{Name: result.CurveGoroutines, V: 30 + float64(rng.IntN(4))},
		}
		for _, sc := range []string{"steady", "paced"} {
			tags := "scenario=" + sc
			vals = append(vals,
				metrics.CurveValue{Name: result.CurveP50, Tags: tags, V: 3 + rng.Float64()},
				metrics.CurveValue{Name: result.CurveP90, Tags: tags, V: 7 + rng.Float64()},
				metrics.CurveValue{Name: result.CurveP99, Tags: tags, V: p99},
				metrics.CurveValue{Name: result.CurveMax, Tags: tags, V: p99 * 1.5})
		}
		if s%3 == 0 {
			vals = append(vals, metrics.CurveValue{Name: result.CurveErrors, Tags: "type=execution_error", V: 1 + float64(rng.IntN(3)), PerSecond: true})
		}
		if s%50 == 0 {
			vals = append(vals, metrics.CurveValue{Name: result.CurveErrors, Tags: metrics.Tags(map[string]string{"type": "x" + hostile[:12]}), V: 1, PerSecond: true})
		}
		curves.Add(metrics.CurveSample{T: float64(s), Span: 1, Values: vals})
		// As the sampler does: at most metrics.MaxSamples samples, the
		// stride doubling each time they fill up.
		if skipped++; skipped >= stride {
			skipped = 0
			at := time.Duration(s) * time.Second
			samples = append(samples, metrics.MemSample{At: at, Seconds: at.Seconds(), RSS: uint64(heap * 2.1), HeapLive: uint64(heap),
				Goroutines: 30, Iterations: iters})
			if len(samples) >= metrics.MaxSamples {
				half := samples[:0]
				for i := 1; i < len(samples); i += 2 {
					half = append(half, samples[i])
				}
				samples, stride = half, stride*2
			}
		}
	}
	leak := metrics.JudgeLeak(samples, metrics.LeakConfig{})
	var ms []result.Metric
	for _, w := range st.All(float64(seconds)) {
		ms = append(ms, result.Metric{Name: w.Series.Def.Name, Tags: w.Series.TagMap(), Kind: w.Series.Def.Kind.String(),
			Unit: "ms", Stats: w.Stats, Hist: w.Stats.Hist()})
	}
	latStats, _, _ := st.Stats(metrics.Query{Metric: metrics.IterationDuration}, float64(seconds))
	d := float64(seconds)
	return &result.Run{
		Version: result.Version, Script: "soak" + hostile + ".lua", Seed: 7,
		Start: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Duration: d, Status: "failed",
		Scenarios: []result.Scenario{
			{Name: "steady", Executor: result.ConstantVUs, Duration: d, Iterations: int64(190 * d), Rate: 190, Errors: int64(d / 3 * 2),
				SuccessRate: 0.99, Latency: latStats,
				FirstErrors: []result.ErrorEntry{{Type: "execution_error", Message: "tool http_request: " + hostile, Count: int64(d / 3 * 2)}}},
			{Name: "paced", Executor: result.ConstantArrivalRate, Duration: d, Iterations: int64(50 * d), Rate: 50, Dropped: int64(7 * d / 997),
				SuccessRate: 1, Latency: latStats},
		},
		Thresholds: []result.Threshold{
			{Metric: "iteration_duration", Expr: "p(99)<100", Value: 14.2, Unit: "ms", Pass: true},
			{Metric: "http_req_duration{name:" + hostile + "}", Expr: "p(95)<1", Value: 1.9, Unit: "ms", Pass: false},
		},
		Checks: []result.Check{{Name: "status is 200", Scenario: "steady", Passes: int64(190 * d), Fails: 3},
			{Name: hostile, Scenario: "paced", Passes: 10, Fails: 0}},
		Tools: []result.Tool{{Tool: "http_request", Calls: int64(570 * d), Outcomes: map[string]int64{"ok": int64(570*d) - 10, "execution_error": 10},
			Latency: metrics.Stats{Count: int64(570 * d), Avg: 1.2, P95: 3.1, P99: 8.4}}},
		Metrics:  ms,
		Memory:   result.Memory{Samples: samples, Peak: metrics.MemSample{RSS: uint64(heap * 2.1), Goroutines: 33}, Leak: leak},
		Curves:   curves.Set(),
		Faults:   []result.Fault{{Target: "tool:http_request", Rule: "5%error(unavailable)" + hostile, Calls: 1000, Hits: 51, Active: true}},
		Sections: []result.Section{{Title: "tasks", Rows: [][]string{{"submitted", "100"}, {"succeeded", "98"}}}},
		RunOptions: map[string]any{"scenarios": map[string]any{"steady": map[string]any{"executor": "constant-vus", "vus": 10}},
			"note": hostile, "limit": math.Pi},
	}
}
