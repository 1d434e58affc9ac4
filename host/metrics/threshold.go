package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Threshold is one pass/fail criterion in k6's syntax: on a metric or a
// sub-metric ("tool_duration{tool:calculator}"), an aggregation compared
// with a value: "p(95)<200", "rate>0.99", "count<10", "avg<5ms",
// "memory_growth" "value<20MB".
type Threshold struct {
	Query Query
	// Source is the expression as written.
	Source string
	// Agg is avg, min, max, med, count, rate, value or p(N).
	Agg        string
	Percentile float64
	Op         string
	// Limit is in the metric's unit: milliseconds for time, bytes for data.
	Limit float64
	// AbortOnFail stops the run as soon as the threshold fails, once
	// DelayAbortEval has passed since the start.
	AbortOnFail    bool
	DelayAbortEval time.Duration
}

// Name renders the threshold as metric: expression.
func (t *Threshold) Name() string { return t.Query.String() + ": " + t.Source }

var ops = []string{"<=", ">=", "===", "==", "!=", "<", ">"}

// ParseThreshold reads one expression for the metric query. def, when
// known, lets the aggregation and units be checked against the metric.
func ParseThreshold(q Query, expr string, def *Def) (*Threshold, error) {
	t := &Threshold{Query: q, Source: strings.TrimSpace(expr)}
	src := t.Source
	if src == "" {
		return nil, fmt.Errorf("threshold on %s: empty expression", q)
	}
	opAt, op := -1, ""
	for _, o := range ops {
		if i := strings.Index(src, o); i >= 0 && (opAt < 0 || i < opAt || i == opAt && len(o) > len(op)) {
			opAt, op = i, o
		}
	}
	if opAt < 0 {
		return nil, fmt.Errorf("threshold %q on %s: no comparison; want e.g. \"p(95)<200\" or \"rate>0.99\"", src, q)
	}
	if op == "===" {
		t.Op = "=="
	} else {
		t.Op = op
	}
	agg := strings.TrimSpace(src[:opAt])
	val := strings.TrimSpace(src[opAt+len(op):])
	if err := t.parseAgg(agg); err != nil {
		return nil, fmt.Errorf("threshold %q on %s: %w", src, q, err)
	}
	unit := None
	if def != nil {
		unit = def.Unit
		if err := checkAgg(t.Agg, def); err != nil {
			return nil, fmt.Errorf("threshold %q on %s: %w", src, q, err)
		}
	}
	limit, err := parseLimit(val, unit, t.Agg)
	if err != nil {
		return nil, fmt.Errorf("threshold %q on %s: %w", src, q, err)
	}
	t.Limit = limit
	return t, nil
}

func (t *Threshold) parseAgg(agg string) error {
	switch agg {
	case "avg", "min", "max", "med", "count", "rate", "value", "sum":
		t.Agg = agg
		return nil
	}
	if strings.HasPrefix(agg, "p(") && strings.HasSuffix(agg, ")") {
		n, err := strconv.ParseFloat(strings.TrimSpace(agg[2:len(agg)-1]), 64)
		if err != nil || n < 0 || n > 100 || math.IsNaN(n) {
			return fmt.Errorf("percentile %q: want p(N) with N from 0 to 100", agg)
		}
		t.Agg, t.Percentile = "p", n
		return nil
	}
	if agg == "" {
		return fmt.Errorf("missing aggregation before the comparison; one of avg, min, max, med, p(N), count, rate, value")
	}
	return fmt.Errorf("unknown aggregation %q; one of avg, min, max, med, p(N), count, rate, value", agg)
}

// checkAgg checks that the aggregation applies to the metric's kind.
func checkAgg(agg string, def *Def) error {
	ok := map[Kind][]string{
		Counter: {"count", "rate", "sum"},
		Gauge:   {"value", "min", "max"},
		Rate:    {"rate", "count"},
		Trend:   {"avg", "min", "max", "med", "p", "count", "sum"},
	}[def.Kind]
	for _, a := range ok {
		if a == agg {
			return nil
		}
	}
	name := agg
	if agg == "p" {
		name = "p(N)"
	}
	return fmt.Errorf("%s does not apply to %s, a %s (use %s)", name, def.Name, def.Kind, strings.ReplaceAll(strings.Join(ok, ", "), "p,", "p(N),"))
}

// parseLimit reads the number after the comparison, with an optional unit
// that must suit the metric: ns, us, µs, ms, s, m, h for time (converted
// to milliseconds); B, kB, KB, MB, GB, KiB, MiB, GiB for data (bytes).
func parseLimit(s string, unit Unit, agg string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing the value after the comparison")
	}
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || strings.IndexByte(".+-eE", s[end]) >= 0) {
		// an 'e' followed by a letter is a unit, not an exponent
		if (s[end] == 'e' || s[end] == 'E') && (end+1 >= len(s) || !strings.ContainsRune("0123456789+-", rune(s[end+1]))) {
			break
		}
		end++
	}
	num, suffix := s[:end], strings.TrimSpace(s[end:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if suffix == "" {
		return v, nil
	}
	if agg == "count" || agg == "rate" {
		return 0, fmt.Errorf("unit %q cannot apply to %s, which has none", suffix, agg)
	}
	switch unit {
	case Time:
		mult, ok := map[string]float64{"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1e3, "m": 60e3, "h": 3600e3}[suffix]
		if !ok {
			return 0, fmt.Errorf("unit %q: want ns, us, ms, s, m or h", suffix)
		}
		return v * mult, nil
	case Data:
		b, err := humanize.ParseBytes("1" + suffix)
		if err != nil {
			return 0, fmt.Errorf("unit %q: want B, kB, MB, GB, KiB, MiB or GiB", suffix)
		}
		return v * float64(b), nil
	}
	return 0, fmt.Errorf("unit %q on a metric without units", suffix)
}

// Value returns the aggregation of stats the threshold compares.
func (t *Threshold) Value(s Stats) float64 {
	switch t.Agg {
	case "avg":
		return s.Avg
	case "min":
		return s.Min
	case "max":
		return s.Max
	case "med":
		return s.Med
	case "p":
		return s.Percentile(t.Percentile)
	case "count":
		return s.Total()
	case "sum":
		return s.Sum
	case "rate":
		return s.Rate
	case "value":
		return s.Value
	}
	return math.NaN()
}

// Pass reports whether v satisfies the threshold.
func (t *Threshold) Pass(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Limit
	case "<=":
		return v <= t.Limit
	case ">":
		return v > t.Limit
	case ">=":
		return v >= t.Limit
	case "==":
		return v == t.Limit
	case "!=":
		return v != t.Limit
	}
	return false
}

// Result is a threshold's outcome.
type Result struct {
	Threshold *Threshold
	Value     float64
	Pass      bool
	// NoData is true when the series the threshold selects saw no value.
	// A counter with no value is a measured zero and is compared as such;
	// a trend, rate or gauge with none fails (Missing), so that a tag
	// misspelt in the threshold cannot turn it into a pass.
	NoData  bool
	Missing bool
	// UnknownKeys are the tag keys the threshold names that no value of
	// its metric carried; KnownKeys those its values did carry. Either
	// way the summary flags a threshold with unknown keys: it most likely
	// names a tag that does not exist.
	UnknownKeys []string
	KnownKeys   []string
	// Reason says why a threshold with no data failed, naming the series
	// and the tag keys its metric has; Warning flags unknown tag keys.
	Reason, Warning string
}

// Evaluate checks thresholds against the store's totals; counter rates
// are per second of seconds.
func Evaluate(st *Store, ts []*Threshold, seconds float64) []Result {
	return EvaluateWith(st, ts, func(Query) float64 { return seconds })
}

// EvaluateWith is Evaluate with a time base per query, so a scenario's
// sub-metric can count per second of that scenario's run.
func EvaluateWith(st *Store, ts []*Threshold, seconds func(Query) float64) []Result {
	out := make([]Result, len(ts))
	for i, t := range ts {
		s, def, _ := st.Stats(t.Query, seconds(t.Query))
		v := t.Value(s)
		r := Result{Threshold: t, Value: v, Pass: t.Pass(v), NoData: s.Count == 0}
		if len(t.Query.Tags) > 0 {
			r.KnownKeys = st.TagKeys(t.Query.Metric)
			for k := range t.Query.Tags {
				if !slices.Contains(r.KnownKeys, k) {
					r.UnknownKeys = append(r.UnknownKeys, k)
				}
			}
			slices.Sort(r.UnknownKeys)
			if len(r.UnknownKeys) > 0 {
				r.Warning = unknownKeysWarning(t.Query.Metric, r.KnownKeys, r.UnknownKeys)
			}
		}
		if r.NoData && def != nil && def.Kind != Counter {
			r.Pass, r.Missing = false, true
			r.Reason = noDataReason(t.Query, def, r.KnownKeys, r.UnknownKeys)
		}
		out[i] = r
	}
	return out
}

// unknownKeysWarning flags tag keys a threshold names that no value of
// its metric carried.
func unknownKeysWarning(metric string, known, unknown []string) string {
	noun := "key"
	if len(unknown) > 1 {
		noun = "keys"
	}
	carried := "no value of " + metric + " carried a tag"
	if len(known) > 0 {
		carried = "its values carry " + strings.Join(known, ", ")
	}
	return fmt.Sprintf("the tag %s %s never appeared on %s (%s)", noun, strings.Join(unknown, ", "), metric, carried)
}

// noDataReason explains a threshold that failed for lack of data.
func noDataReason(q Query, def *Def, known, unknown []string) string {
	what := fmt.Sprintf("%s received no value", q)
	switch {
	case len(unknown) > 0 && len(known) == 0:
		return fmt.Sprintf("%s: no value of %s carried a tag at all, so none carried %s", what, def.Name, strings.Join(unknown, ", "))
	case len(unknown) > 0:
		return fmt.Sprintf("%s: no value of %s carried the tag key %s; its values carry %s",
			what, def.Name, strings.Join(unknown, ", "), strings.Join(known, ", "))
	case len(q.Tags) > 0:
		return fmt.Sprintf("%s: the tag keys exist (%s) but no value had these values", what, strings.Join(known, ", "))
	}
	return fmt.Sprintf("%s: the %s %s was never recorded", what, def.Kind, def.Name)
}
