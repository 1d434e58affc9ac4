package metrics

import (
	"math"
	"slices"
	"strconv"

	json "github.com/go-json-experiment/json"
)

// Chart curves: the per-second figures the HTML report and the live
// dashboard draw, one curve per measure and tag set (iterations per second
// of a scenario, its p99 latency, errors per second of a type, memory).
// A run of any length keeps at most MaxCurvePoints points per curve: when
// full, neighbouring spans merge, each point keeping the mean of what it
// covers and the lowest and highest value, so a one-second spike in a
// ten-hour run still shows.

// MaxCurvePoints bounds every curve; MaxCurves bounds how many curves a run
// keeps (values of further curves are counted in CurveSet.Dropped).
const (
	MaxCurvePoints = 1024
	MaxCurves      = 256
)

// CurveValue is one curve's value over one span.
type CurveValue struct {
	// Name is the measure ("iterations", "iteration_duration.p99").
	Name string
	// Tags is the canonical tag string (see Tags) of what it measures.
	Tags string
	// V is the value; NaN when there was nothing to measure (a latency in
	// a second without iterations).
	V float64
	// PerSecond marks a count per second: a span without a value reads 0,
	// not "no data".
	PerSecond bool
}

// CurveSample is the values of one span, usually one second.
type CurveSample struct {
	// T is the end of the span in seconds since the run started.
	T      float64
	Span   float64
	Values []CurveValue
}

// Values is a series of numbers whose JSON form writes NaN as null and
// keeps six significant digits (integers in full), so a chart's data stays
// small.
type Values []float64

// MarshalJSON writes the values, NaN and infinities as null.
func (vs Values) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(vs)*8)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendNumber(b, v)
	}
	return append(b, ']'), nil
}

// AppendNumber appends v as a JSON number with six significant digits
// (integers below 1e15 in full), or null for NaN and infinities.
func AppendNumber(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return append(b, "null"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', 6, 64)
}

// UnmarshalJSON reads numbers and nulls (as NaN).
func (vs *Values) UnmarshalJSON(b []byte) error {
	var raw []*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Values, len(raw))
	for i, p := range raw {
		out[i] = math.NaN()
		if p != nil {
			out[i] = *p
		}
	}
	*vs = out
	return nil
}

// Curve is one measure over the run.
type Curve struct {
	Name string            `json:"name"`
	Tags map[string]string `json:"tags,omitempty"`
	// PerSecond marks counts per second.
	PerSecond bool `json:"per_second,omitempty"`
	// Mean is the value of each span (the mean over the seconds it covers).
	Mean Values `json:"mean"`
	// Lo and Hi are the lowest and highest one-second values each span
	// covers; present once spans have merged.
	Lo Values `json:"lo,omitempty"`
	Hi Values `json:"hi,omitempty"`
}

// CurveSet is the curves of a run on one time axis.
type CurveSet struct {
	// T is the end of each span in seconds since the start; Span its length.
	T      Values  `json:"t"`
	Span   Values  `json:"span"`
	Curves []Curve `json:"curves"`
	// Dropped counts values of curves past MaxCurves.
	Dropped int64 `json:"dropped_values,omitempty"`
}

// Find returns the curve with the name and canonical tags, or nil.
func (cs *CurveSet) Find(name, tags string) *Curve {
	if cs == nil {
		return nil
	}
	for i := range cs.Curves {
		if cs.Curves[i].Name == name && Tags(cs.Curves[i].Tags) == tags {
			return &cs.Curves[i]
		}
	}
	return nil
}

type curveKey struct{ name, tags string }

type curve struct {
	key          curveKey
	perSecond    bool
	mean, lo, hi []float64
}

// Curves collects chart curves in bounded memory. Not safe for concurrent
// use.
type Curves struct {
	t, span []float64
	// n is how many samples each point covers; once the curves have been
	// halved, a point takes stride samples before the next one starts,
	// so every point of a long run covers the same time.
	n       []int
	stride  int
	curves  []*curve
	index   map[curveKey]*curve
	merged  bool
	dropped int64
	seen    map[*curve]bool
}

// Add appends one span.
func (c *Curves) Add(s CurveSample) {
	if c.index == nil {
		c.index = map[curveKey]*curve{}
		c.seen = map[*curve]bool{}
		c.stride = 1
	}
	n := len(c.t)
	c.t = append(c.t, s.T)
	c.span = append(c.span, s.Span)
	c.n = append(c.n, 1)
	clear(c.seen)
	for _, v := range s.Values {
		k := curveKey{v.Name, v.Tags}
		cv := c.index[k]
		if cv == nil {
			if len(c.curves) >= MaxCurves {
				c.dropped++
				continue
			}
			cv = &curve{key: k, perSecond: v.PerSecond}
			fill := math.NaN()
			if v.PerSecond {
				fill = 0
			}
			for range n {
				cv.mean = append(cv.mean, fill)
				cv.lo = append(cv.lo, fill)
				cv.hi = append(cv.hi, fill)
			}
			c.index[k] = cv
			c.curves = append(c.curves, cv)
		}
		if c.seen[cv] {
			// The same curve twice in one span: the values add up
			// (counts) or the later wins.
			if cv.perSecond && !math.IsNaN(v.V) {
				cv.mean[n] += v.V
				cv.lo[n], cv.hi[n] = cv.mean[n], cv.mean[n]
			} else {
				cv.mean[n], cv.lo[n], cv.hi[n] = v.V, v.V, v.V
			}
			continue
		}
		c.seen[cv] = true
		cv.mean = append(cv.mean, v.V)
		cv.lo = append(cv.lo, v.V)
		cv.hi = append(cv.hi, v.V)
	}
	for _, cv := range c.curves {
		if len(cv.mean) == n {
			fill := math.NaN()
			if cv.perSecond {
				fill = 0
			}
			cv.mean = append(cv.mean, fill)
			cv.lo = append(cv.lo, fill)
			cv.hi = append(cv.hi, fill)
		}
	}
	switch {
	case n > 0 && s.Span < shortSpan:
		// A sliver of a second (the run's last tick): its counts per
		// second would read as a spike, so it joins the previous point.
		c.absorb(n-1, n)
		c.truncate(n)
	case n > 0 && c.n[n-1] < c.stride:
		// The previous point still has room: the new sample joins it.
		c.mergeInto(n-1, n)
		c.truncate(n)
	}
	if len(c.t) >= MaxCurvePoints {
		c.halve()
	}
}

// mergeInto folds point j into point i: means weighted by span, the
// lowest and highest values kept, the later end time.
func (c *Curves) mergeInto(i, j int) {
	wi, wj := max(c.span[i], 1e-9), max(c.span[j], 1e-9)
	for _, cv := range c.curves {
		cv.mean[i] = weighted(cv.mean[i], wi, cv.mean[j], wj)
		cv.lo[i] = nanMin(cv.lo[i], cv.lo[j])
		cv.hi[i] = nanMax(cv.hi[i], cv.hi[j])
	}
	c.t[i] = c.t[j]
	c.span[i] += c.span[j]
	c.n[i] += c.n[j]
	c.merged = true
}

// shortSpan is the shortest span that stands as a point of its own.
const shortSpan = 0.5

// absorb folds a short span j into point i: the means weighted by span,
// the lowest and highest values widened only by the merged mean.
func (c *Curves) absorb(i, j int) {
	wi, wj := max(c.span[i], 1e-9), max(c.span[j], 1e-9)
	for _, cv := range c.curves {
		cv.mean[i] = weighted(cv.mean[i], wi, cv.mean[j], wj)
		cv.lo[i] = nanMin(cv.lo[i], cv.mean[i])
		cv.hi[i] = nanMax(cv.hi[i], cv.mean[i])
	}
	c.t[i] = c.t[j]
	c.span[i] += c.span[j]
}

func (c *Curves) truncate(n int) {
	c.t, c.span, c.n = c.t[:n], c.span[:n], c.n[:n]
	for _, cv := range c.curves {
		cv.mean, cv.lo, cv.hi = cv.mean[:n], cv.lo[:n], cv.hi[:n]
	}
}

// halve merges neighbouring points and doubles the stride; an odd last
// point stays as it is.
func (c *Curves) halve() {
	n := len(c.t)
	j := 0
	for i := 0; i+1 < n; i += 2 {
		c.mergeInto(i, i+1)
		c.moveTo(j, i)
		j++
	}
	if n%2 == 1 {
		c.moveTo(j, n-1)
		j++
	}
	c.truncate(j)
	c.stride *= 2
}

func (c *Curves) moveTo(dst, src int) {
	if dst == src {
		return
	}
	c.t[dst], c.span[dst], c.n[dst] = c.t[src], c.span[src], c.n[src]
	for _, cv := range c.curves {
		cv.mean[dst], cv.lo[dst], cv.hi[dst] = cv.mean[src], cv.lo[src], cv.hi[src]
	}
}

// Len returns the number of spans held.
func (c *Curves) Len() int { return len(c.t) }

// Set returns a copy of the curves.
func (c *Curves) Set() *CurveSet {
	cs := &CurveSet{T: slices.Clone(c.t), Span: slices.Clone(c.span), Dropped: c.dropped, Curves: []Curve{}}
	if cs.T == nil {
		cs.T, cs.Span = Values{}, Values{}
	}
	for _, cv := range c.curves {
		out := Curve{Name: cv.key.name, PerSecond: cv.perSecond, Mean: slices.Clone(cv.mean)}
		if cv.key.tags != "" {
			out.Tags = ParseTags(cv.key.tags)
		}
		if c.merged {
			out.Lo, out.Hi = slices.Clone(cv.lo), slices.Clone(cv.hi)
		}
		cs.Curves = append(cs.Curves, out)
	}
	return cs
}

func weighted(a, wa, b, wb float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return (a*wa + b*wb) / (wa + wb)
}

func nanMin(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	if math.IsNaN(b) {
		return a
	}
	return math.Min(a, b)
}

func nanMax(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	if math.IsNaN(b) {
		return a
	}
	return math.Max(a, b)
}
