package metrics

import (
	"fmt"
	"math"
	"time"

	"github.com/dustin/go-humanize"
)

// Verdicts of the leak test.
const (
	NoLeak       = "no leak"
	Growth       = "growth"
	Leak         = "leak"
	Insufficient = "insufficient data"
)

// Default leak thresholds: the orchestrator seed's, growth over 20 MB
// warns and over 50 MB fails.
const (
	DefaultWarnBytes = 20 << 20
	DefaultFailBytes = 50 << 20
	// DefaultGoroutineGrowth is how many more goroutines at the end than
	// at the start count as a goroutine leak.
	DefaultGoroutineGrowth = 100
)

// LeakConfig tunes the verdict. Zero fields take the defaults.
type LeakConfig struct {
	// WarmUp is discarded from the start (default: 10% of the run, at
	// most 30s), so start-up allocation is not taken for growth.
	WarmUp time.Duration
	// WarnBytes and FailBytes bound the growth of the live heap between
	// the start and end windows.
	WarnBytes, FailBytes uint64
	// GoroutineGrowth bounds the growth in goroutines.
	GoroutineGrowth int
}

// LeakReport is the verdict and the figures behind it.
type LeakReport struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Samples int    `json:"samples"`
	// Means of the first and last fifth of the samples after warm-up.
	StartHeap       float64 `json:"start_heap_live"`
	EndHeap         float64 `json:"end_heap_live"`
	HeapGrowth      float64 `json:"heap_growth"`
	StartRSS        float64 `json:"start_rss"`
	EndRSS          float64 `json:"end_rss"`
	RSSGrowth       float64 `json:"rss_growth"`
	PeakRSS         uint64  `json:"peak_rss"`
	GoroutineGrowth float64 `json:"goroutine_growth"`
	// Least-squares slope of the live heap in bytes per 1,000 iterations
	// (per second when no iterations ran), and how well the line fits.
	Slope     float64 `json:"slope"`
	SlopeUnit string  `json:"slope_unit"`
	R2        float64 `json:"r2"`
	WarnBytes uint64  `json:"warn_bytes"`
	FailBytes uint64  `json:"fail_bytes"`
}

// JudgeLeak looks at a memory timeline and decides: "leak" when the live
// heap grew by more than FailBytes between the start and end windows, or
// grew by more than WarnBytes along a steady line (R² ≥ 0.8), or the
// goroutines grew by more than GoroutineGrowth; "growth" when the heap grew
// by more than WarnBytes; otherwise "no leak". Growth is measured on the
// heap the garbage collector found live, which does not saw-tooth.
func JudgeLeak(samples []MemSample, cfg LeakConfig) LeakReport {
	if cfg.WarnBytes == 0 {
		cfg.WarnBytes = DefaultWarnBytes
	}
	if cfg.FailBytes == 0 {
		cfg.FailBytes = DefaultFailBytes
	}
	if cfg.GoroutineGrowth == 0 {
		cfg.GoroutineGrowth = DefaultGoroutineGrowth
	}
	r := LeakReport{WarnBytes: cfg.WarnBytes, FailBytes: cfg.FailBytes}
	for _, s := range samples {
		r.PeakRSS = max(r.PeakRSS, s.RSS)
	}
	if len(samples) > 0 {
		warm := cfg.WarmUp
		if warm == 0 {
			warm = min(samples[len(samples)-1].At/10, 30*time.Second)
		}
		i := 0
		for i < len(samples) && samples[i].At < warm {
			i++
		}
		samples = samples[i:]
	}
	r.Samples = len(samples)
	if len(samples) < 5 {
		noun := "samples"
		if len(samples) == 1 {
			noun = "sample"
		}
		r.Verdict, r.Reason = Insufficient, fmt.Sprintf("%d %s after warm-up; 5 are needed", len(samples), noun)
		return r
	}
	w := max(1, len(samples)/5)
	mean := func(ss []MemSample, f func(MemSample) float64) float64 {
		t := 0.0
		for _, s := range ss {
			t += f(s)
		}
		return t / float64(len(ss))
	}
	heap := func(s MemSample) float64 { return float64(s.HeapLive) }
	rss := func(s MemSample) float64 { return float64(s.RSS) }
	gor := func(s MemSample) float64 { return float64(s.Goroutines) }
	head, tail := samples[:w], samples[len(samples)-w:]
	r.StartHeap, r.EndHeap = mean(head, heap), mean(tail, heap)
	r.StartRSS, r.EndRSS = mean(head, rss), mean(tail, rss)
	r.HeapGrowth, r.RSSGrowth = r.EndHeap-r.StartHeap, r.EndRSS-r.StartRSS
	r.GoroutineGrowth = mean(tail, gor) - mean(head, gor)

	// Regress the heap on iterations when the run iterated, else on time.
	xs, ys := make([]float64, len(samples)), make([]float64, len(samples))
	byIter := samples[len(samples)-1].Iterations > samples[0].Iterations
	for i, s := range samples {
		if byIter {
			xs[i] = float64(s.Iterations) / 1000
		} else {
			xs[i] = s.At.Seconds()
		}
		ys[i] = heap(s)
	}
	r.Slope, r.R2 = fitLine(xs, ys)
	r.SlopeUnit = "bytes per 1,000 iterations"
	if !byIter {
		r.SlopeUnit = "bytes per second"
	}
	mb := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	switch {
	case r.HeapGrowth > float64(cfg.FailBytes):
		r.Verdict, r.Reason = Leak, fmt.Sprintf("live heap grew %s, over the %s limit", mb(r.HeapGrowth), mb(float64(cfg.FailBytes)))
	case r.GoroutineGrowth > float64(cfg.GoroutineGrowth):
		r.Verdict, r.Reason = Leak, fmt.Sprintf("goroutines grew by %s, over the limit of %s",
			humanize.Comma(int64(math.Round(r.GoroutineGrowth))), humanize.Comma(int64(cfg.GoroutineGrowth)))
	case r.HeapGrowth > float64(cfg.WarnBytes) && r.R2 >= 0.8 && r.Slope > 0:
		r.Verdict, r.Reason = Leak, fmt.Sprintf("live heap grew %s along a steady line (R² %.2f)", mb(r.HeapGrowth), r.R2)
	case r.HeapGrowth > float64(cfg.WarnBytes):
		r.Verdict, r.Reason = Growth, fmt.Sprintf("live heap grew %s, over the %s warning level", mb(r.HeapGrowth), mb(float64(cfg.WarnBytes)))
	default:
		r.Verdict, r.Reason = NoLeak, fmt.Sprintf("live heap changed %s, within the %s warning level", mb(r.HeapGrowth), mb(float64(cfg.WarnBytes)))
	}
	return r
}

// fitLine returns the least-squares slope of ys on xs and R².
func fitLine(xs, ys []float64) (slope, r2 float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy, syy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
		syy += ys[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0, 0
	}
	slope = (n*sxy - sx*sy) / den
	vy := n*syy - sy*sy
	if vy <= 0 {
		return slope, 0
	}
	r := (n*sxy - sx*sy) / math.Sqrt(den*vy)
	return slope, r * r
}
