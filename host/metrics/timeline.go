package metrics

// Point is one second (or, after downsampling, a few seconds) of a run.
type Point struct {
	// T is the end of the span, in seconds since the run started.
	T float64 `json:"t"`
	// Iterations and ToolCalls are per second.
	Iterations float64 `json:"iterations_per_s"`
	ToolCalls  float64 `json:"tool_calls_per_s"`
	Errors     float64 `json:"errors_per_s"`
	// Iteration duration percentiles of the span, in milliseconds.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	VUs float64 `json:"vus"`
	// Memory at the end of the span.
	RSS        uint64 `json:"rss"`
	HeapLive   uint64 `json:"heap_live"`
	Goroutines int    `json:"goroutines"`
	span       float64
}

// MaxPoints bounds a timeline; when full, neighbouring points merge.
const MaxPoints = 1800

// Timeline is the run's per-second series, in bounded memory: a ten-hour
// run keeps as many points as a thirty-minute one, each covering more
// seconds. Not safe for concurrent use.
type Timeline struct {
	points []Point
}

// Add appends a point covering span seconds. A span shorter than half a
// second (the last, partial second of a run) is folded into the point
// before it, weighted by its length, rather than stand as a second of its
// own: its rates are not extrapolated from a fraction of a second.
func (tl *Timeline) Add(p Point, span float64) {
	p.span = span
	if n := len(tl.points); n > 0 && span < shortSpan {
		tl.points[n-1] = mergePoints(tl.points[n-1], p)
		return
	}
	tl.points = append(tl.points, p)
	if len(tl.points) >= MaxPoints {
		half := tl.points[:0]
		for i := 0; i+1 < len(tl.points); i += 2 {
			half = append(half, mergePoints(tl.points[i], tl.points[i+1]))
		}
		if len(tl.points)%2 == 1 {
			half = append(half, tl.points[len(tl.points)-1])
		}
		tl.points = half
	}
}

// mergePoints combines two neighbouring spans: rates weighted by span,
// percentiles as the worse of the two, memory as the later.
func mergePoints(a, b Point) Point {
	w := a.span + b.span
	if w == 0 {
		w = 1
	}
	avg := func(x, y float64) float64 { return (x*a.span + y*b.span) / w }
	return Point{
		T: b.T, span: a.span + b.span,
		Iterations: avg(a.Iterations, b.Iterations), ToolCalls: avg(a.ToolCalls, b.ToolCalls), Errors: avg(a.Errors, b.Errors),
		P50: max(a.P50, b.P50), P90: max(a.P90, b.P90), P95: max(a.P95, b.P95), P99: max(a.P99, b.P99),
		VUs: avg(a.VUs, b.VUs), RSS: b.RSS, HeapLive: b.HeapLive, Goroutines: b.Goroutines,
	}
}

// Points returns a copy of the series.
func (tl *Timeline) Points() []Point { return append([]Point(nil), tl.points...) }
