package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"spellhost/host/metrics"
)

// Options tune a comparison.
type Options struct {
	// Alpha is the significance level: a change is real when p < Alpha
	// (default 0.05).
	Alpha float64
	// Seed seeds the bootstrap (default 1), so a comparison repeats.
	Seed uint64
	// Tolerances are the --fail-on rules.
	Tolerances []Tolerance
}

// Verdicts of a row.
const (
	Real      = "real change"
	Noise     = "within noise"
	NotTested = "not tested"
	NoData    = "no data"
)

// Row is one compared figure.
type Row struct {
	// Query is the metric or sub-metric ("iteration_duration{scenario:a}").
	Query string
	// Stat is avg, med, p(95), max, rate, throughput, error_rate, value.
	Stat string
	// Unit is "ms", "bytes", "/s", "ratio" or "".
	Unit      string
	Base, New float64
	// Change is New − Base; Rel the change relative to Base (NaN when
	// Base is 0); Lo and Hi the 95% interval of Change (NaN when none).
	Change, Rel, Lo, Hi float64
	// P is the two-sided p-value (NaN when not tested).
	P       float64
	Method  string
	Verdict string
	// Headline rows are shown by default in the console table.
	Headline bool
	Note     string
}

// Check is one tolerance's outcome.
type Check struct {
	Tolerance Tolerance
	Row       *Row
	// Amount is the change in the tolerance's unit (a percentage, points
	// or milliseconds); Exceeded is true when it is past the tolerance
	// and the change is real.
	Amount   float64
	Beyond   bool
	Exceeded bool
	Note     string
}

// Result is a whole comparison.
type Result struct {
	Base, New *Summary
	Alpha     float64
	Rows      []Row
	Checks    []Check
	Notes     []string
}

// Failed reports whether a tolerance was exceeded by a real change.
func (r *Result) Failed() bool {
	for _, c := range r.Checks {
		if c.Exceeded {
			return true
		}
	}
	return false
}

// Method describes the statistics, for the reports.
func (r *Result) Method() string {
	return fmt.Sprintf("Latency percentiles: a bootstrap of each percentile from the two runs' HDR histograms (%d resamples, seeded), "+
		"with a 95%% interval of the change. Averages: Welch's t-test. Rates and error ratios: a two-proportion z-test "+
		"(Fisher's exact test for small counts). Throughput: the Poisson rate test on the counts over each run's duration. "+
		"A change is real when p < %g; gauges (memory, VUs) are shown, not tested.", Resamples, r.Alpha)
}

// comparer holds what the rows are computed from.
type comparer struct {
	base, new *Summary
	rng       *rand.Rand
	alpha     float64
	dists     map[string]*metrics.Dist // cache: path|query
}

// Compare compares two summaries.
func Compare(base, new *Summary, opts Options) (*Result, error) {
	if opts.Alpha <= 0 || opts.Alpha >= 1 {
		opts.Alpha = 0.05
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	c := &comparer{base: base, new: new, alpha: opts.Alpha, rng: rand.New(rand.NewPCG(opts.Seed, 0x5eed)),
		dists: map[string]*metrics.Dist{}}
	res := &Result{Base: base, New: new, Alpha: opts.Alpha}
	if base.Version != new.Version {
		res.Notes = append(res.Notes, fmt.Sprintf("the summaries have different versions (BASE %d, NEW %d)", base.Version, new.Version))
	}
	for _, s := range []*Summary{base, new} {
		if s.Version < 2 {
			res.Notes = append(res.Notes, fmt.Sprintf("%s is a version %d summary without histograms: its percentiles and averages are shown but not tested", s.Path, s.Version))
		}
	}
	if base.Script != new.Script {
		res.Notes = append(res.Notes, fmt.Sprintf("the runs are of different scripts (%s, %s)", base.Script, new.Script))
	}
	// The run and each scenario: throughput and error rate.
	scen := func(s *Summary) []string {
		var out []string
		for _, sc := range s.Scenarios {
			out = append(out, sc.Name)
		}
		return out
	}
	queries := []metrics.Query{{Metric: metrics.Iterations}}
	names := union(scen(base), scen(new))
	if len(names) > 1 {
		for _, n := range names {
			queries = append(queries, metrics.Query{Metric: metrics.Iterations, Tags: map[string]string{"scenario": n}})
		}
	}
	for _, q := range queries {
		headline := len(q.Tags) == 0
		res.Rows = append(res.Rows, c.row(q, "throughput", headline), c.row(q, "error_rate", headline))
	}
	// Every metric: the whole metric, then each series when it has several.
	for _, name := range c.metricNames() {
		if name == metrics.Iterations || name == metrics.IterationErrors || name == metrics.IterationTimeouts {
			continue
		}
		qs := []metrics.Query{{Metric: name}}
		if tagsets := c.tagsets(name); len(tagsets) > 1 {
			for _, ts := range tagsets {
				qs = append(qs, metrics.Query{Metric: name, Tags: metrics.ParseTags(ts)})
			}
		}
		for _, q := range qs {
			for _, stat := range c.stats(name) {
				headline := name == metrics.IterationDuration && len(q.Tags) == 0 && stat != "avg" && stat != "max"
				res.Rows = append(res.Rows, c.row(q, stat, headline))
			}
		}
	}
	for _, t := range opts.Tolerances {
		chk, err := c.check(res, t)
		if err != nil {
			return nil, err
		}
		res.Checks = append(res.Checks, chk)
	}
	return res, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (c *comparer) metricNames() []string {
	var names []string
	for _, s := range []*Summary{c.base, c.new} {
		for _, m := range s.Metrics {
			if !slices.Contains(names, m.Name) {
				names = append(names, m.Name)
			}
		}
	}
	return names
}

func (c *comparer) tagsets(name string) []string {
	var out []string
	for _, s := range []*Summary{c.base, c.new} {
		for _, m := range s.Metrics {
			if m.Name == name {
				if t := metrics.Tags(m.Tags); !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// kind returns a metric's kind and unit, from whichever summary has it.
func (c *comparer) kind(name string) (kind, unit string, ok bool) {
	for _, s := range []*Summary{c.base, c.new} {
		for _, m := range s.Metrics {
			if m.Name == name {
				return m.Kind, m.Unit, true
			}
		}
	}
	return "", "", false
}

// stats lists the compared stats of a metric.
func (c *comparer) stats(name string) []string {
	kind, _, _ := c.kind(name)
	switch kind {
	case "trend":
		return []string{"avg", "med", "p(90)", "p(95)", "p(99)", "max"}
	case "counter":
		return []string{"rate"}
	case "rate":
		return []string{"rate"}
	}
	return []string{"value"}
}

// matching returns the series of s that the query selects.
func matching(s *Summary, q metrics.Query) []Series {
	var out []Series
	for _, m := range s.Metrics {
		if m.Name != q.Metric {
			continue
		}
		ok := true
		for k, v := range q.Tags {
			if m.Tags[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// agg is a query's merged figures in one summary.
type agg struct {
	found        bool
	count        int64
	sum          float64
	passes       int64
	min, max     float64
	value        float64
	dist         *metrics.Dist // nil when a series lacks its histogram
	single       *Stats        // the series' own figures when there is one
	hasHistogram bool
}

func (c *comparer) aggregate(s *Summary, q metrics.Query) agg {
	ms := matching(s, q)
	a := agg{found: len(ms) > 0, min: math.Inf(1), max: math.Inf(-1), hasHistogram: true}
	d := &metrics.Dist{}
	for i, m := range ms {
		a.count += m.Stats.Count
		a.sum += m.Stats.Sum
		a.passes += m.Stats.Passes
		a.min = math.Min(a.min, m.Stats.Min)
		a.max = math.Max(a.max, m.Stats.Max)
		a.value += m.Stats.Value
		if len(ms) == 1 {
			a.single = &ms[i].Stats
		}
		if m.Kind != "trend" {
			continue
		}
		if m.Hist == nil {
			a.hasHistogram = false
			continue
		}
		md, err := metrics.DecodeHist(m.Hist)
		if err != nil {
			a.hasHistogram = false
			continue
		}
		d = d.Merge(md)
	}
	if a.hasHistogram && d.N > 0 {
		a.dist = d
	}
	return a
}

func percentileOf(stat string) (float64, bool) {
	var p float64
	if _, err := fmt.Sscanf(stat, "p(%g)", &p); err == nil && p > 0 && p < 100 {
		return p, true
	}
	switch stat {
	case "med":
		return 50, true
	}
	return 0, false
}

// trendValue reads a stat of a trend aggregate.
func trendValue(a agg, stat string) float64 {
	if a.count == 0 {
		return math.NaN()
	}
	switch stat {
	case "avg":
		return a.sum / float64(a.count)
	case "max":
		return a.max
	case "min":
		return a.min
	}
	p, _ := percentileOf(stat)
	if a.dist != nil {
		return math.Max(a.min, math.Min(a.max, a.dist.Quantile(p/100)))
	}
	if a.single != nil {
		switch p {
		case 50:
			return a.single.Med
		case 90:
			return a.single.P90
		case 95:
			return a.single.P95
		case 99:
			return a.single.P99
		}
	}
	return math.NaN()
}

// row computes one compared figure.
func (c *comparer) row(q metrics.Query, stat string, headline bool) Row {
	r := Row{Query: q.String(), Stat: stat, Headline: headline, Method: untested.method, P: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	kind, unit, known := c.kind(q.Metric)
	a, b := c.aggregate(c.base, q), c.aggregate(c.new, q)
	t := untested
	switch {
	case stat == "throughput" || stat == "error_rate":
		r.Unit = "/s"
		qe := metrics.Query{Metric: metrics.IterationErrors, Tags: q.Tags}
		qt := metrics.Query{Metric: metrics.IterationTimeouts, Tags: q.Tags}
		if stat == "throughput" {
			r.Base, r.New = a.sum/c.base.Duration, b.sum/c.new.Duration
			t = poisson(a.sum, c.base.Duration, b.sum, c.new.Duration)
		} else {
			r.Unit = "ratio"
			ea := c.aggregate(c.base, qe).sum + c.aggregate(c.base, qt).sum
			eb := c.aggregate(c.new, qe).sum + c.aggregate(c.new, qt).sum
			r.Base, r.New = ratio(ea, a.sum), ratio(eb, b.sum)
			t = proportions(int64(ea), int64(a.sum), int64(eb), int64(b.sum))
		}
		if !a.found || !b.found {
			r.Note = "no iterations in " + missing(a.found, b.found)
		}
	case !known:
		r.Note = "no such metric"
	case kind == "trend":
		r.Unit = unit
		r.Base, r.New = trendValue(a, stat), trendValue(b, stat)
		if p, ok := percentileOf(stat); ok && a.dist != nil && b.dist != nil {
			t = bootstrapQuantile(a.dist, b.dist, p/100, c.rng)
		} else if stat == "avg" && a.dist != nil && b.dist != nil {
			_, va := a.dist.MeanVar()
			_, vb := b.dist.MeanVar()
			t = welch(a.count, r.Base, va, b.count, r.New, vb)
		} else if (a.dist == nil || b.dist == nil) && a.found && b.found && stat != "max" && stat != "min" {
			r.Note = "no histogram to test"
		}
	case kind == "counter":
		r.Unit = "/s"
		r.Base, r.New = a.sum/c.base.Duration, b.sum/c.new.Duration
		if stat == "count" {
			r.Unit = ""
			r.Base, r.New = a.sum, b.sum
			t = poisson(a.sum, 1, b.sum, 1)
		} else {
			t = poisson(a.sum, c.base.Duration, b.sum, c.new.Duration)
		}
	case kind == "rate":
		r.Unit = "ratio"
		r.Base, r.New = ratio(float64(a.passes), float64(a.count)), ratio(float64(b.passes), float64(b.count))
		t = proportions(a.passes, a.count, b.passes, b.count)
	default:
		r.Unit = unit
		r.Base, r.New = a.value, b.value
		if !a.found || !b.found {
			r.Base, r.New = nanIf(!a.found, a.value), nanIf(!b.found, b.value)
		}
	}
	if known && stat != "throughput" && stat != "error_rate" && (!a.found || !b.found) {
		r.Note = "only in " + map[bool]string{true: "BASE", false: "NEW"}[a.found]
		if !a.found && !b.found {
			r.Note = "in neither run"
		}
		t = untested
		if !a.found {
			r.Base = math.NaN()
		}
		if !b.found {
			r.New = math.NaN()
		}
	}
	r.Change = r.New - r.Base
	r.Rel = math.NaN()
	if r.Base != 0 && !math.IsNaN(r.Base) {
		r.Rel = r.Change / math.Abs(r.Base)
	}
	r.P, r.Lo, r.Hi, r.Method = t.p, t.lo, t.hi, t.method
	switch {
	case math.IsNaN(r.Base) || math.IsNaN(r.New):
		r.Verdict = NoData
	case math.IsNaN(r.P):
		r.Verdict = NotTested
	case r.P < c.alpha:
		r.Verdict = Real
	default:
		r.Verdict = Noise
	}
	return r
}

func missing(a, b bool) string {
	switch {
	case !a && !b:
		return "either run"
	case !a:
		return "BASE"
	}
	return "NEW"
}

func ratio(x, n float64) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return x / n
}

func nanIf(cond bool, v float64) float64 {
	if cond {
		return math.NaN()
	}
	return v
}

// check evaluates one tolerance.
func (c *comparer) check(res *Result, t Tolerance) (Check, error) {
	q := t.Query
	kind, unit, known := c.kind(q.Metric)
	if !known && q.Metric != metrics.Iterations {
		return Check{}, fmt.Errorf("compare: --fail-on %q: metric %s is in neither summary", t.Source, q.Metric)
	}
	switch {
	case t.Stat == "throughput" || t.Stat == "error_rate":
		if q.Metric != metrics.Iterations {
			return Check{}, fmt.Errorf("compare: --fail-on %q: %s applies to iterations, not %s", t.Source, t.Stat, q.Metric)
		}
	case kind == "trend":
		if !isTrendStat(t.Stat) {
			return Check{}, fmt.Errorf("compare: --fail-on %q: %s is a trend; its stats are avg, min, med, max and p(N)", t.Source, q.Metric)
		}
	case kind == "counter" && t.Stat != "rate" && t.Stat != "count":
		return Check{}, fmt.Errorf("compare: --fail-on %q: %s is a counter; its stats are rate and count", t.Source, q.Metric)
	case kind == "rate" && t.Stat != "rate":
		return Check{}, fmt.Errorf("compare: --fail-on %q: %s is a rate; its stat is rate", t.Source, q.Metric)
	case kind == "gauge":
		return Check{}, fmt.Errorf("compare: --fail-on %q: %s is a gauge: its last value has no test, so it cannot fail a comparison", t.Source, q.Metric)
	}
	row := c.row(q, t.Stat, false)
	switch t.Unit {
	case "pp":
		if row.Unit != "ratio" {
			return Check{}, fmt.Errorf("compare: --fail-on %q: pp (percentage points) applies to ratios (error_rate, the rate of a rate metric), not %s of %s", t.Source, t.Stat, q.Metric)
		}
	case "ms", "s", "us", "µs":
		if unit != "ms" || kind != "trend" {
			return Check{}, fmt.Errorf("compare: --fail-on %q: a time tolerance applies to time trends, not %s of %s", t.Source, t.Stat, q.Metric)
		}
	}
	// Reuse the table's row when there is one, so the report shows one
	// figure for one test.
	for i := range res.Rows {
		if res.Rows[i].Query == row.Query && res.Rows[i].Stat == row.Stat {
			res.Rows[i].Headline = true
			row = res.Rows[i]
		}
	}
	if !slices.ContainsFunc(res.Rows, func(r Row) bool { return r.Query == row.Query && r.Stat == row.Stat }) {
		row.Headline = true
		res.Rows = append(res.Rows, row)
	}
	chk := Check{Tolerance: t, Row: &row}
	switch t.Unit {
	case "%":
		chk.Amount = 100 * row.Rel
	case "pp":
		chk.Amount = 100 * row.Change
	case "s":
		chk.Amount = row.Change / 1000
	case "us", "µs":
		chk.Amount = row.Change * 1000
	default:
		chk.Amount = row.Change
	}
	if t.Sign < 0 {
		chk.Amount = -chk.Amount
	}
	switch {
	case row.Verdict == NoData:
		chk.Note = "no data: " + row.Note
	case math.IsNaN(chk.Amount):
		chk.Note = "the base is 0: a relative change is undefined"
	default:
		chk.Beyond = chk.Amount > t.Amount
		chk.Exceeded = chk.Beyond && row.Verdict == Real
		switch {
		case chk.Exceeded:
			chk.Note = "exceeded by a real change"
		case chk.Beyond && row.Verdict == Noise:
			chk.Note = "beyond the tolerance but within noise"
		case chk.Beyond:
			chk.Note = "beyond the tolerance, " + row.Verdict
		default:
			chk.Note = "within the tolerance"
		}
	}
	return chk, nil
}

func isTrendStat(s string) bool {
	if _, ok := percentileOf(s); ok {
		return true
	}
	return s == "avg" || s == "min" || s == "max"
}

// Label renders a row's subject: the query and the stat.
func (r Row) Label() string {
	return strings.TrimSpace(r.Query + " " + r.Stat)
}
