package report

import (
	"fmt"
	"math"
	"strings"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// Chart is one chart as the page draws it with uPlot: the X axis in
// seconds since the start and one data column per series.
type Chart struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Unit of the left axis: "ms", "bytes", "/s" or ""; Unit2 of the right
	// axis, when a series is drawn there.
	Unit   string           `json:"unit"`
	Unit2  string           `json:"unit2,omitempty"`
	X      metrics.Values   `json:"x"`
	Series []ChartSeries    `json:"series"`
	Data   []metrics.Values `json:"data"`
}

// ChartSeries is one drawn series.
type ChartSeries struct {
	Label string `json:"label"`
	Color string `json:"color"`
	// Right puts the series on the right axis.
	Right bool `json:"right,omitempty"`
	// Dash draws a dashed line (the leak's fitted slope).
	Dash bool `json:"dash,omitempty"`
	// Band is "lo" or "hi" for the two edges of a shaded band around the
	// line at index BandOf (1-based, as uPlot counts): the lowest and
	// highest second of each downsampled span.
	Band   string `json:"band,omitempty"`
	BandOf int    `json:"band_of,omitempty"`
	// SpanGaps joins the points across missing values (two runs'
	// curves on one axis, where each has values only at its own times).
	SpanGaps bool `json:"span_gaps,omitempty"`
}

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"}

func (c *Chart) line(label string, vs metrics.Values, color string) int {
	c.Series = append(c.Series, ChartSeries{Label: label, Color: color})
	c.Data = append(c.Data, vs)
	return len(c.Series)
}

// curve adds a curve's mean as a line and, when the curve was downsampled
// and band is set, its lowest and highest seconds as a band.
func (c *Chart) curve(label string, cv *metrics.Curve, color string, band bool) {
	i := c.line(label, cv.Mean, color)
	if band && len(cv.Lo) == len(cv.Mean) && len(cv.Hi) == len(cv.Mean) {
		c.Series = append(c.Series, ChartSeries{Label: label + " (highest second)", Color: color, Band: "hi", BandOf: i},
			ChartSeries{Label: label + " (lowest second)", Color: color, Band: "lo", BandOf: i})
		c.Data = append(c.Data, cv.Hi, cv.Lo)
	}
}

func curvesNamed(cs *metrics.CurveSet, name string) []*metrics.Curve {
	var out []*metrics.Curve
	for i := range cs.Curves {
		if cs.Curves[i].Name == name {
			out = append(out, &cs.Curves[i])
		}
	}
	return out
}

// memInput is the memory timeline the memory chart draws: the sampler's
// samples with the leak test's fitted line in the report, the per-second
// curves in the dashboard.
type memInput struct {
	T, RSS, Heap, Goroutines, Fit metrics.Values
}

// maxMemPoints bounds the memory chart: longer timelines keep, in each
// bucket, the samples of lowest and highest live heap.
const maxMemPoints = 2000

// memoryInput takes the memory samples of a result, thinned to at most
// maxMemPoints, and the leak test's line over the samples it judged.
func memoryInput(r *result.Run) *memInput {
	ss := r.Memory.Samples
	if len(ss) == 0 {
		return nil
	}
	lk := r.Memory.Leak
	fit := make([]float64, len(ss))
	for i := range fit {
		fit[i] = math.NaN()
	}
	if lk.Verdict != metrics.Insufficient && lk.Samples >= 2 && lk.Samples <= len(ss) {
		// The verdict regressed the live heap of the last lk.Samples
		// samples on iterations (or seconds); its line passes through
		// their means.
		judged := ss[len(ss)-lk.Samples:]
		byIter := strings.Contains(lk.SlopeUnit, "iteration")
		x := func(s metrics.MemSample) float64 {
			if byIter {
				return float64(s.Iterations) / 1000
			}
			return s.Seconds
		}
		var mx, my float64
		for _, s := range judged {
			mx += x(s)
			my += float64(s.HeapLive)
		}
		mx /= float64(len(judged))
		my /= float64(len(judged))
		for i, s := range judged {
			fit[len(ss)-lk.Samples+i] = my + lk.Slope*(x(s)-mx)
		}
	}
	keep := thinMinMax(len(ss), maxMemPoints, func(i int) float64 { return float64(ss[i].HeapLive) })
	m := &memInput{}
	for _, i := range keep {
		s := ss[i]
		m.T = append(m.T, s.Seconds)
		m.RSS = append(m.RSS, float64(s.RSS))
		m.Heap = append(m.Heap, float64(s.HeapLive))
		m.Goroutines = append(m.Goroutines, float64(s.Goroutines))
		m.Fit = append(m.Fit, fit[i])
	}
	return m
}

// thinMinMax returns the indexes of n points to draw, at most limit: all
// of them when they fit, else from each of limit/2 buckets the points of
// the lowest and highest value, in order.
func thinMinMax(n, limit int, v func(int) float64) []int {
	idx := make([]int, 0, min(n, limit))
	if n <= limit {
		for i := range n {
			idx = append(idx, i)
		}
		return idx
	}
	buckets := limit / 2
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if v(i) < v(imin) {
				imin = i
			}
			if v(i) > v(imax) {
				imax = i
			}
		}
		idx = append(idx, min(imin, imax))
		if imin != imax {
			idx = append(idx, max(imin, imax))
		}
	}
	return idx
}

// Charts lays out the charts of a run: throughput, latency per scenario,
// errors by type, VUs, dropped iterations and memory. mem, when nil, is
// taken from the curves.
func Charts(cs *metrics.CurveSet, mem *memInput) []Chart {
	var out []Chart
	if cs != nil && len(cs.T) > 0 {
		tp := Chart{ID: "throughput", Title: "Iterations and tool calls per second", Unit: "/s", X: cs.T}
		iters := curvesNamed(cs, result.CurveIterations)
		for i, cv := range iters {
			tp.curve("iterations · "+cv.Tags["scenario"], cv, palette[i%len(palette)], true)
		}
		if tc := cs.Find(result.CurveToolCalls, ""); tc != nil {
			tp.curve("tool calls", tc, "#4b5563", true)
		}
		out = append(out, tp)

		for i, cv := range iters {
			name := cv.Tags["scenario"]
			tags := metrics.Tags(map[string]string{"scenario": name})
			c := Chart{ID: fmt.Sprintf("latency-%d", i+1), Title: "Iteration duration · " + name, Unit: "ms", X: cs.T}
			for j, p := range []struct{ curve, label string }{
				{result.CurveP50, "p50"}, {result.CurveP90, "p90"}, {result.CurveP99, "p99"}, {result.CurveMax, "max"},
			} {
				if pc := cs.Find(p.curve, tags); pc != nil {
					c.curve(p.label, pc, palette[j], p.curve == result.CurveMax)
				}
			}
			if len(c.Series) > 0 {
				out = append(out, c)
			}
		}

		if errs := curvesNamed(cs, result.CurveErrors); len(errs) > 0 {
			c := Chart{ID: "errors", Title: "Errors per second by type", Unit: "/s", X: cs.T}
			for i, cv := range errs {
				c.curve(cv.Tags["type"], cv, palette[(i+1)%len(palette)], true)
			}
			out = append(out, c)
		}
		if vus := cs.Find(result.CurveVUs, ""); vus != nil {
			c := Chart{ID: "vus", Title: "Active VUs", X: cs.T}
			c.curve("VUs", vus, palette[0], false)
			out = append(out, c)
		}
		if dropped := curvesNamed(cs, result.CurveDropped); len(dropped) > 0 {
			c := Chart{ID: "dropped", Title: "Dropped iterations per second", Unit: "/s", X: cs.T}
			for i, cv := range dropped {
				c.curve(cv.Tags["scenario"], cv, palette[i%len(palette)], true)
			}
			out = append(out, c)
		}
		if mem == nil {
			rss, heap, gor := cs.Find(result.CurveRSS, ""), cs.Find(result.CurveHeapLive, ""), cs.Find(result.CurveGoroutines, "")
			if rss != nil && heap != nil && gor != nil {
				mem = &memInput{T: cs.T, RSS: rss.Mean, Heap: heap.Mean, Goroutines: gor.Mean}
			}
		}
	}
	if mem != nil && len(mem.T) > 0 {
		c := Chart{ID: "memory", Title: "Memory", Unit: "bytes", Unit2: "goroutines", X: mem.T}
		c.line("RSS", mem.RSS, palette[0])
		c.line("live heap", mem.Heap, palette[2])
		c.Series = append(c.Series, ChartSeries{Label: "goroutines", Color: palette[4], Right: true})
		c.Data = append(c.Data, mem.Goroutines)
		if hasValue(mem.Fit) {
			c.Series = append(c.Series, ChartSeries{Label: "leak test's slope (live heap)", Color: "#111827", Dash: true})
			c.Data = append(c.Data, mem.Fit)
		}
		out = append(out, c)
	}
	return out
}

func hasValue(vs metrics.Values) bool {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}
