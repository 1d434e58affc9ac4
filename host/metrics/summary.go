package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// DefaultTrendStats are the figures the summary shows of a trend, as in
// k6.
var DefaultTrendStats = []string{"avg", "min", "med", "max", "p(90)", "p(95)"}

// ParseTrendStats reads a comma-separated list of trend figures, as
// --summary-trend-stats takes it: avg, min, med, max, count, sum and p(N)
// with N from 0 to 100. Percentiles are written back in a canonical form
// (p(99.90) becomes p(99.9)).
func ParseTrendStats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "avg" || f == "min" || f == "med" || f == "max" || f == "count" || f == "sum":
		case strings.HasPrefix(f, "p(") && strings.HasSuffix(f, ")"):
			n, err := strconv.ParseFloat(strings.TrimSpace(f[2:len(f)-1]), 64)
			if err != nil || n < 0 || n > 100 || math.IsNaN(n) {
				return nil, fmt.Errorf("%q: want p(N) with N from 0 to 100", f)
			}
			f = "p(" + strconv.FormatFloat(n, 'f', -1, 64) + ")"
		case f == "":
			return nil, fmt.Errorf("an empty figure in %q", s)
		default:
			return nil, fmt.Errorf("%q: want avg, min, med, max, count, sum or p(N)", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Contains is what k6 calls the kind of values a unit holds: "time" for
// milliseconds, "data" for bytes, else "default".
func (u Unit) Contains() string {
	switch u {
	case Time:
		return "time"
	case Data:
		return "data"
	}
	return "default"
}

// SummaryValues are a metric's figures as k6's summary names them: a
// counter's count and rate (per second), a gauge's value, min and max, a
// rate's rate, passes and fails, and a trend's figures named in
// trendStats (p(N) by name). A trend with no value has none.
func SummaryValues(kind Kind, s Stats, trendStats []string) map[string]float64 {
	switch kind {
	case Counter:
		return map[string]float64{"count": s.Sum, "rate": s.Rate}
	case Gauge:
		return map[string]float64{"value": s.Value, "min": s.Min, "max": s.Max}
	case Rate:
		return map[string]float64{"rate": s.Rate, "passes": float64(s.Trues), "fails": float64(s.Count - s.Trues)}
	}
	out := map[string]float64{}
	if s.Count == 0 {
		return out
	}
	for _, f := range trendStats {
		switch f {
		case "avg":
			out[f] = s.Avg
		case "min":
			out[f] = s.Min
		case "med":
			out[f] = s.Med
		case "max":
			out[f] = s.Max
		case "count":
			out[f] = float64(s.Count)
		case "sum":
			out[f] = s.Sum
		default:
			if n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(f, "p("), ")"), 64); err == nil {
				out[f] = s.Percentile(n)
			}
		}
	}
	return out
}

// Metrics returns the metrics that have at least one series, by name.
func (st *Store) Metrics() []*Def {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Def
	for _, s := range st.order {
		if !slices.Contains(out, s.Def) {
			out = append(out, s.Def)
		}
	}
	slices.SortFunc(out, func(a, b *Def) int { return strings.Compare(a.Name, b.Name) })
	return out
}
