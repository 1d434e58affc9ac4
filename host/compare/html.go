package compare

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"math"
	"slices"

	"spellhost/host/metrics"
	"spellhost/host/report"
)

//go:embed assets/compare.tmpl
var assets embed.FS

var pageTmpl = template.Must(template.New("compare.tmpl").ParseFS(assets, "assets/compare.tmpl"))

type htmlRun struct {
	Label, Duration string
	S               *Summary
}

type htmlRow struct {
	R         Row
	Base, New string
	Real      bool
}

type htmlPage struct {
	report.PageAssets
	R    *Result
	Runs []htmlRun
	Rows []htmlRow
	Data template.JS
}

// WriteHTML writes the comparison as one self-contained HTML file: the
// tolerances, both runs' curves overlaid and every compared row.
func (r *Result) WriteHTML(w io.Writer) error {
	data, err := report.ScriptJSON(report.PageData{Charts: r.Charts()})
	if err != nil {
		return err
	}
	p := htmlPage{PageAssets: report.Assets, R: r, Data: data, Runs: []htmlRun{
		{"BASE", report.Ms(r.Base.Duration * 1000), r.Base}, {"NEW", report.Ms(r.New.Duration * 1000), r.New}}}
	for _, row := range r.Rows {
		p.Rows = append(p.Rows, htmlRow{R: row, Base: Value(row.Base, row.Unit), New: Value(row.New, row.Unit), Real: row.Verdict == Real})
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// maxOverlayPoints bounds an overlay chart; longer timelines are averaged
// into buckets of equal time.
const maxOverlayPoints = 2000

// Charts overlays the two runs' timelines, on seconds since each start.
func (r *Result) Charts() []report.Chart {
	type curve struct {
		id, title, unit string
		get             func(Point) float64
	}
	curves := []curve{
		{"throughput", "Iterations per second", "/s", func(p Point) float64 { return p.Iterations }},
		{"p95", "Iteration duration p95", "ms", func(p Point) float64 { return p.P95 }},
		{"p99", "Iteration duration p99", "ms", func(p Point) float64 { return p.P99 }},
		{"errors", "Errors per second", "/s", func(p Point) float64 { return p.Errors }},
		{"rss", "Resident memory", "bytes", func(p Point) float64 { return p.RSS }},
	}
	a, b := r.Base.Timeline, r.New.Timeline
	if len(a) == 0 && len(b) == 0 {
		return []report.Chart{}
	}
	var xs []float64
	for _, p := range a {
		xs = append(xs, p.T)
	}
	for _, p := range b {
		xs = append(xs, p.T)
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	index := make(map[float64]int, len(xs))
	for i, x := range xs {
		index[x] = i
	}
	bucket := func(t float64) int { return index[t] }
	if len(xs) > maxOverlayPoints {
		end := xs[len(xs)-1]
		n := maxOverlayPoints / 2
		grid := make([]float64, n)
		for i := range grid {
			grid[i] = end * float64(i+1) / float64(n)
		}
		xs = grid
		bucket = func(t float64) int { return min(n-1, int(math.Ceil(t/end*float64(n)))-1) }
	}
	column := func(pts []Point, get func(Point) float64) metrics.Values {
		sum := make([]float64, len(xs))
		cnt := make([]int, len(xs))
		for _, p := range pts {
			if i := bucket(p.T); i >= 0 {
				sum[i] += get(p)
				cnt[i]++
			}
		}
		col := make(metrics.Values, len(xs))
		for i := range col {
			col[i] = math.NaN()
			if cnt[i] > 0 {
				col[i] = sum[i] / float64(cnt[i])
			}
		}
		return col
	}
	var out []report.Chart
	for _, c := range curves {
		ch := report.Chart{ID: c.id, Title: c.title, Unit: c.unit, X: xs,
			Series: []report.ChartSeries{{Label: "BASE", Color: "#6b7280", SpanGaps: true}, {Label: "NEW", Color: "#dc2626", SpanGaps: true}},
			Data:   []metrics.Values{column(a, c.get), column(b, c.get)}}
		out = append(out, ch)
	}
	return out
}
