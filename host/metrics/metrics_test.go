package metrics_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/metrics"
	"spellhost/internal/procmem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func exact(vals []float64, p float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// TestPercentileAccuracy feeds known distributions and checks p50, p95
// and p99 within 1% of the exact values.
func TestPercentileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"uniform ms":     func() float64 { return 1 + rng.Float64()*999 },
		"exponential ms": func() float64 { return rng.ExpFloat64() * 20 },
		"lognormal ms":   func() float64 { return math.Exp(rng.NormFloat64()*1.5 + 2) },
		"microseconds":   func() float64 { return 0.05 + rng.Float64()*0.5 },
		"bimodal":        func() float64 { return []float64{5, 500}[rng.IntN(2)] * (1 + rng.Float64()*0.1) },
		"negative":       func() float64 { return rng.NormFloat64() * 100 },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			st := metrics.NewStore()
			def, _ := st.Define("x", metrics.Trend, metrics.Time)
			s := st.Series(def, "")
			buf := st.NewBuffer(512, time.Hour)
			vals := make([]float64, 100_000)
			for i := range vals {
				vals[i] = gen()
				buf.Add(s, vals[i])
			}
			buf.Flush()
			stats, _, _ := st.Stats(metrics.Query{Metric: "x"}, 1)
			for _, c := range []struct {
				p   float64
				got float64
			}{{50, stats.Med}, {95, stats.P95}, {99, stats.P99}, {99.9, stats.Percentile(99.9)}} {
				want := exact(vals, c.p)
				if math.Abs(c.got-want) > 0.01*math.Abs(want)+1e-3 {
					t.Errorf("p(%v) = %v, exact %v (off by %.3f%%)", c.p, c.got, want, 100*math.Abs(c.got-want)/math.Abs(want))
				}
			}
			sum := 0.0
			for _, v := range vals {
				sum += v
			}
			if stats.Count != int64(len(vals)) || math.Abs(stats.Avg-sum/float64(len(vals))) > 1e-6*math.Abs(sum) {
				t.Errorf("count %d avg %v, want %d %v", stats.Count, stats.Avg, len(vals), sum/float64(len(vals)))
			}
			if stats.Min != slices.Min(vals) || stats.Max != slices.Max(vals) {
				t.Errorf("min/max %v %v, want %v %v", stats.Min, stats.Max, slices.Min(vals), slices.Max(vals))
			}
		})
	}
}

func TestKindsAndQueries(t *testing.T) {
	st := metrics.NewStore()
	calls, _ := st.Def(metrics.ToolCalls)
	dur, _ := st.Def(metrics.ToolDuration)
	checks, _ := st.Def(metrics.Checks)
	vus, _ := st.Def(metrics.VUs)
	b := st.NewBuffer(4, time.Hour) // small: flushes while adding
	for i := range 10 {
		tool := []string{"calculator", "hash_calculator"}[i%2]
		b.Add(b.Series(calls, "outcome=ok,tool="+tool), 1)
		b.Add(b.Series(dur, "outcome=ok,tool="+tool), float64(i))
		b.Add(b.Series(checks, "check=sum"), float64(i%5))
	}
	b.Flush()
	st.Add(st.Series(vus, ""), 3)
	st.Add(st.Series(vus, ""), 7)
	st.Add(st.Series(vus, ""), 5)

	s, _, _ := st.Stats(metrics.Query{Metric: "tool_calls"}, 2)
	if s.Sum != 10 || s.Rate != 5 {
		t.Fatalf("counter: %+v", s)
	}
	q, err := metrics.ParseQuery("tool_duration{tool:calculator}")
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ = st.Stats(q, 1)
	if s.Count != 5 || s.Min != 0 || s.Max != 8 || s.Avg != 4 {
		t.Fatalf("sub-metric: %+v", s)
	}
	s, _, _ = st.Stats(metrics.Query{Metric: "checks"}, 1)
	if s.Rate != 0.8 || s.Trues != 8 {
		t.Fatalf("rate: %+v", s)
	}
	s, _, _ = st.Stats(metrics.Query{Metric: "vus"}, 1)
	if s.Value != 5 || s.Min != 3 || s.Max != 7 {
		t.Fatalf("gauge: %+v", s)
	}
	if _, _, ok := st.Stats(metrics.Query{Metric: "nope"}, 1); ok {
		t.Fatal("unknown metric answered")
	}
	if _, err := st.Define("mine", metrics.Counter, metrics.None); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Define("mine", metrics.Trend, metrics.None); err == nil || !strings.Contains(err.Error(), "is a counter, not a trend") {
		t.Fatalf("redefine: %v", err)
	}
	for _, bad := range []string{"", "1x", "a b", strings.Repeat("x", 200)} {
		if _, err := st.Define(bad, metrics.Counter, metrics.None); err == nil {
			t.Errorf("Define(%q) accepted", bad)
		}
	}
	if got := st.Series(dur, "outcome=ok,tool=calculator").Name(); got != "tool_duration{outcome:ok,tool:calculator}" {
		t.Fatalf("series name %q", got)
	}
}

func TestParseQuery(t *testing.T) {
	good := map[string]string{
		"iterations":                           "iterations",
		" tool_duration{ tool : calculator } ": "tool_duration{tool:calculator}",
		"checks{check:sum ok,scenario:a}":      "checks{check:sum ok,scenario:a}",
	}
	for in, want := range good {
		q, err := metrics.ParseQuery(in)
		if err != nil || q.String() != want {
			t.Errorf("ParseQuery(%q) = %v, %v; want %s", in, q, err, want)
		}
	}
	for _, bad := range []string{"", "{a:b}", "x{a:b", "x{a}", "x{:b}", "x{a:}", "9x"} {
		if _, err := metrics.ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%q) accepted", bad)
		}
	}
	if metrics.Tags(map[string]string{"b": "2", "a": "1"}) != "a=1,b=2" || metrics.Tags(nil) != "" {
		t.Fatal("Tags")
	}
}

func TestTickWindows(t *testing.T) {
	st := metrics.NewStore()
	d, _ := st.Def(metrics.IterationDuration)
	s := st.Series(d, "scenario=a")
	for i := 1; i <= 100; i++ {
		st.Add(s, float64(i))
	}
	t0 := st.Start()
	_, w := st.Tick(t0.Add(time.Second))
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.001*b }
	if len(w) != 1 || w[0].Stats.Count != 100 || !near(w[0].Stats.Med, 50) || !near(w[0].Stats.Percentile(99), 99) {
		t.Fatalf("window 1: %+v", w)
	}
	if _, w = st.Tick(t0.Add(2 * time.Second)); len(w) != 0 {
		t.Fatalf("an empty second produced windows: %+v", w)
	}
	st.Add(s, 1000)
	if _, w = st.Tick(t0.Add(3 * time.Second)); len(w) != 1 || w[0].Stats.Max != 1000 || w[0].Stats.Count != 1 {
		t.Fatalf("window 3: %+v", w)
	}
	total, _, _ := st.Stats(metrics.Query{Metric: "iteration_duration"}, 3)
	if total.Count != 101 {
		t.Fatalf("totals: %+v", total)
	}
}

// TestBoundedMemory records a ten-minute-equivalent run and a ten-second
// one into separate stores (and timelines) and checks the long one holds
// no more memory.
func TestBoundedMemory(t *testing.T) {
	heapOf := func(seconds int) uint64 {
		rng := rand.New(rand.NewPCG(3, 4))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		st := metrics.NewStore()
		d, _ := st.Def(metrics.IterationDuration)
		calls, _ := st.Def(metrics.ToolCalls)
		var tl metrics.Timeline
		b := st.NewBuffer(256, time.Hour)
		t0 := st.Start()
		for sec := range seconds {
			for range 2000 {
				b.Add(b.Series(d, "scenario=s"), rng.ExpFloat64()*10)
				b.Add(b.Series(calls, "tool=calculator"), 1)
			}
			b.Flush()
			st.Tick(t0.Add(time.Duration(sec+1) * time.Second))
			tl.Add(metrics.Point{T: float64(sec + 1)}, 1)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(st)
		runtime.KeepAlive(&tl)
		if after.HeapAlloc < before.HeapAlloc {
			return 0
		}
		return after.HeapAlloc - before.HeapAlloc
	}
	short, long := heapOf(10), heapOf(600)
	t.Logf("metrics memory: 10 s run %d B, 600 s run %d B", short, long)
	if long > short+256<<10 {
		t.Fatalf("a 600 s run holds %d B, a 10 s run %d B: memory grows with time", long, short)
	}
	var tl metrics.Timeline
	for i := range 100_000 {
		tl.Add(metrics.Point{T: float64(i + 1), Iterations: 10}, 1)
	}
	pts := tl.Points()
	if len(pts) >= metrics.MaxPoints || pts[len(pts)-1].T != 100_000 || math.Abs(pts[0].Iterations-10) > 1e-9 {
		t.Fatalf("timeline: %d points, last %+v", len(pts), pts[len(pts)-1])
	}
}

func samples(n int, heap func(i int) uint64, gor func(i int) int) []metrics.MemSample {
	out := make([]metrics.MemSample, n)
	for i := range out {
		out[i] = metrics.MemSample{At: time.Duration(i) * time.Second, HeapLive: heap(i), RSS: heap(i) + 10<<20,
			Goroutines: gor(i), Iterations: int64(i * 1000)}
	}
	return out
}

func TestLeakVerdicts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	flat := func(int) uint64 { return 30<<20 + uint64(rng.IntN(2<<20)) }
	steady := func(int) int { return 20 }
	cases := []struct {
		name    string
		samples []metrics.MemSample
		want    string
		reason  string
	}{
		{"flat", samples(100, flat, steady), metrics.NoLeak, "within the 20.0 MiB warning level"},
		{"linear leak", samples(100, func(i int) uint64 { return 30<<20 + uint64(i)*(1<<20) }, steady), metrics.Leak, "over the 50.0 MiB limit"},
		{"steady moderate growth", samples(100, func(i int) uint64 { return 30<<20 + uint64(i)*(400<<10) }, steady), metrics.Leak, "along a steady line"},
		{"noisy step growth", samples(100, func(i int) uint64 {
			base := uint64(30 << 20)
			if i > 50 {
				base += 30 << 20
			}
			return base + uint64(rng.IntN(20<<20))
		}, steady), metrics.Growth, "over the 20.0 MiB warning level"},
		{"goroutine leak", samples(100, flat, func(i int) int { return 20 + 5*i }), metrics.Leak, "goroutines grew"},
		{"too short", samples(3, flat, steady), metrics.Insufficient, "5 are needed"},
	}
	for _, c := range cases {
		r := metrics.JudgeLeak(c.samples, metrics.LeakConfig{})
		if r.Verdict != c.want || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %s (%s), want %s containing %q", c.name, r.Verdict, r.Reason, c.want, c.reason)
		}
	}
	r := metrics.JudgeLeak(samples(100, func(i int) uint64 { return 30<<20 + uint64(i)*(1<<20) }, steady), metrics.LeakConfig{})
	if math.Abs(r.Slope-(1<<20)) > 1 || r.R2 < 0.999 || r.SlopeUnit != "bytes per 1,000 iterations" {
		t.Fatalf("slope %v R² %v %s", r.Slope, r.R2, r.SlopeUnit)
	}
	// Custom thresholds move the verdict.
	r = metrics.JudgeLeak(samples(100, func(i int) uint64 { return 30<<20 + uint64(i)*(100<<10) }, steady), metrics.LeakConfig{WarnBytes: 1 << 20, FailBytes: 100 << 20})
	if r.Verdict != metrics.Leak {
		t.Fatalf("custom thresholds: %+v", r)
	}
}

func TestSampler(t *testing.T) {
	var seen int
	n := int64(0)
	s := metrics.NewSampler(time.Millisecond, func() int64 { n += 10; return n }, func(metrics.MemSample) { seen++ })
	for range 5000 {
		s.Sample()
	}
	got := s.Samples()
	if seen != 5000 || len(got) >= metrics.MaxSamples || len(got) < metrics.MaxSamples/4 {
		t.Fatalf("seen %d, kept %d", seen, len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].At < got[i-1].At || got[i].Iterations <= got[i-1].Iterations {
			t.Fatalf("timeline out of order at %d", i)
		}
	}
	if p := s.Peak(); p.Goroutines == 0 || p.HeapLive == 0 {
		t.Fatalf("peak %+v", p)
	}
	if procmem.RSS() == 0 {
		t.Fatal("RSS unreadable")
	}
}

// TestSeriesCaps: a metric keeps at most its cap of series; values for
// new series past it are dropped and counted, per metric.
func TestSeriesCaps(t *testing.T) {
	st := metrics.NewStore()
	st.SetMaxSeries(3)
	d, err := st.Define("per_user", metrics.Counter, metrics.None)
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBuffer(16, time.Hour)
	for i := range 10 {
		s := b.Series(d, metrics.Tags(map[string]string{"user": fmt.Sprint(i)}))
		b.Add(s, 1)
		b.Add(s, 2)
	}
	st.Add(st.Series(d, "user=99"), 5)
	b.Flush()
	total, _, _ := st.Stats(metrics.Query{Metric: "per_user"}, 1)
	if total.Sum != 9 || total.Count != 6 {
		t.Fatalf("kept %+v; want the first 3 series' 6 values", total)
	}
	got := st.Dropped()
	if len(got) != 1 || got[0] != (metrics.Dropped{Metric: "per_user", Samples: 15}) {
		t.Fatalf("dropped %+v", got)
	}
	n := 0
	for _, w := range st.All(1) {
		if w.Series.Def == d {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d series of per_user; want 3", n)
	}
	// Over-long tag strings are dropped too, whatever the count.
	st.Add(st.Series(d, "user=0"), 1)
	st.Add(st.Series(d, "k="+strings.Repeat("v", metrics.MaxTagsBytes)), 1)
	if got := st.Dropped(); got[0].Samples != 16 {
		t.Fatalf("dropped %+v", got)
	}
}

// TestDefineReservedAndCapped: scripts cannot declare built-in metrics,
// and at most MaxCustomMetrics of their own.
func TestDefineReservedAndCapped(t *testing.T) {
	st := metrics.NewStore()
	for _, d := range metrics.Builtin {
		_, err := st.Define(d.Name, d.Kind, d.Unit)
		if !errors.Is(err, metrics.ErrReserved) || !strings.Contains(err.Error(), `"`+d.Name+`"`) {
			t.Errorf("Define(%s): %v", d.Name, err)
		}
	}
	for i := range metrics.MaxCustomMetrics {
		if _, err := st.Define(fmt.Sprintf("m%d", i), metrics.Counter, metrics.None); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Define("m0", metrics.Counter, metrics.None); err != nil {
		t.Fatalf("an existing metric is refused: %v", err)
	}
	if _, err := st.Define("one_more", metrics.Counter, metrics.None); err == nil || !strings.Contains(err.Error(), "the most allowed") {
		t.Fatalf("metric %d: %v", metrics.MaxCustomMetrics+1, err)
	}
}

// TestNonFiniteIgnored: NaN and infinities never reach a series, so the
// summary's JSON can always be written.
func TestNonFiniteIgnored(t *testing.T) {
	st := metrics.NewStore()
	d, _ := st.Def(metrics.VUs)
	s := st.Series(d, "")
	b := st.NewBuffer(4, time.Hour)
	for _, v := range []float64{math.NaN(), math.Inf(1), 3, math.Inf(-1)} {
		st.Add(s, v)
		b.Add(s, v)
	}
	b.Flush()
	got, _, _ := st.Stats(metrics.Query{Metric: metrics.VUs}, 1)
	if got.Count != 2 || got.Value != 3 || got.Min != 3 || got.Max != 3 {
		t.Fatalf("%+v", got)
	}
}
