package metrics_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"spellhost/host/metrics"
)

func trendStats(t *testing.T, vals []float64) metrics.Stats {
	t.Helper()
	st := metrics.NewStore()
	def, err := st.Define("lat", metrics.Trend, metrics.Time)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Series(def, "")
	for _, v := range vals {
		st.Add(s, v)
	}
	stats, _, _ := st.Stats(metrics.Query{Metric: "lat"}, 1)
	return stats
}

// The decoded histogram reads the same percentiles as the run did.
func TestHistRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var vals []float64
	for range 20000 {
		vals = append(vals, rng.ExpFloat64()*20+0.001)
	}
	vals = append(vals, -2.5, -0.5) // negative values are kept apart
	s := trendStats(t, vals)
	h := s.Hist()
	if h == nil || h.Pos == "" || h.Neg == "" {
		t.Fatalf("hist %+v", h)
	}
	d, err := metrics.DecodeHist(h)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != int64(len(vals)) {
		t.Fatalf("N %d, want %d", d.N, len(vals))
	}
	for i := 1; i < len(d.Bins); i++ {
		if d.Bins[i].Lo <= d.Bins[i-1].Lo || d.Bins[i].Lo > d.Bins[i].Hi {
			t.Fatalf("bins out of order at %d: %+v %+v", i, d.Bins[i-1], d.Bins[i])
		}
	}
	for _, p := range []float64{50, 90, 95, 99} {
		got, want := d.Quantile(p/100), s.Percentile(p)
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("p%v: decoded %v, run %v", p, got, want)
		}
	}
	if lo := d.Quantile(0.00001); lo > -2.49 || lo < -2.51 {
		t.Errorf("lowest %v, want about -2.5", lo)
	}
	mean, variance := d.MeanVar()
	if math.Abs(mean-s.Avg) > 0.01*s.Avg || variance < 300 || variance > 500 {
		t.Errorf("mean %v (avg %v), variance %v (about 400 expected)", mean, s.Avg, variance)
	}
	// Merging a distribution with itself doubles every count.
	m := d.Merge(d)
	if m.N != 2*d.N || len(m.Bins) != len(d.Bins) || m.Quantile(0.95) != d.Quantile(0.95) {
		t.Errorf("merge: N %d bins %d p95 %v/%v", m.N, len(m.Bins), m.Quantile(0.95), d.Quantile(0.95))
	}
}

// Each bin's width is the histogram's own: a value's bin reaches exactly
// the upper edge the run reports for it.
func TestHistBinEdges(t *testing.T) {
	for _, v := range []float64{0.000001, 0.0021, 1, 2.047, 2.049, 123.456, 65536.5, 3.6e6} {
		s := trendStats(t, []float64{v})
		d, err := metrics.DecodeHist(s.Hist())
		if err != nil {
			t.Fatal(err)
		}
		b := d.Bins[0]
		if v < b.Lo-1e-12 || v > b.Hi+1e-6 || (b.Hi-b.Lo) > 0.001*v+1e-6 {
			t.Errorf("%v: bin [%v, %v]", v, b.Lo, b.Hi)
		}
	}
}

func TestHistBadInput(t *testing.T) {
	for _, h := range []*metrics.Hist{{Pos: "not base64!"}, {Pos: "AAAA"}, {Neg: "HISTFAAAAB54nJNpmSzMwMDAzAABMDoQAAmBBcE="}} {
		if _, err := metrics.DecodeHist(h); !errors.Is(err, metrics.ErrBadHist) {
			t.Errorf("%+v: %v", h, err)
		}
	}
	if d, err := metrics.DecodeHist(nil); err != nil || d.N != 0 || !math.IsNaN(d.Quantile(0.5)) {
		t.Errorf("nil: %+v %v", d, err)
	}
	// Not a trend: no histogram.
	st := metrics.NewStore()
	def, _ := st.Define("c", metrics.Counter, metrics.None)
	st.Add(st.Series(def, ""), 1)
	if s, _, _ := st.Stats(metrics.Query{Metric: "c"}, float64(time.Second)); s.Hist() != nil {
		t.Error("a counter has a histogram")
	}
}
