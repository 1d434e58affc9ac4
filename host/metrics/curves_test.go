package metrics_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"spellhost/host/metrics"
)

func TestCurvesFillAndJSON(t *testing.T) {
	var c metrics.Curves
	c.Add(metrics.CurveSample{T: 1, Span: 1, Values: []metrics.CurveValue{
		{Name: "iterations", Tags: "scenario=a", V: 10, PerSecond: true},
		{Name: "p99", Tags: "scenario=a", V: 5},
	}})
	// A second in which the latency had no value and an error type
	// appears for the first time.
	c.Add(metrics.CurveSample{T: 2, Span: 1, Values: []metrics.CurveValue{
		{Name: "errors", Tags: "type=timeout", V: 3, PerSecond: true},
		{Name: "errors", Tags: "type=timeout", V: 2, PerSecond: true},
	}})
	cs := c.Set()
	if !slices.Equal(cs.T, metrics.Values{1, 2}) || len(cs.Curves) != 3 {
		t.Fatalf("set %+v", cs)
	}
	it, p99, errs := cs.Find("iterations", "scenario=a"), cs.Find("p99", "scenario=a"), cs.Find("errors", "type=timeout")
	if it == nil || p99 == nil || errs == nil {
		t.Fatalf("curves missing: %+v", cs)
	}
	if !slices.Equal(it.Mean, metrics.Values{10, 0}) {
		t.Errorf("a count absent from a second reads 0: %v", it.Mean)
	}
	if p99.Mean[0] != 5 || !math.IsNaN(p99.Mean[1]) {
		t.Errorf("a latency absent from a second reads no data: %v", p99.Mean)
	}
	if errs.Mean[0] != 0 || errs.Mean[1] != 5 {
		t.Errorf("a late curve is back-filled and repeated values add up: %v", errs.Mean)
	}
	if it.Lo != nil || it.Hi != nil {
		t.Errorf("a run that never merged has no bands: %+v", it)
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mean":[5,null]`) {
		t.Errorf("NaN is not null in %s", b)
	}
	var back metrics.CurveSet
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Find("p99", "scenario=a"); got == nil || got.Mean[0] != 5 || !math.IsNaN(got.Mean[1]) {
		t.Errorf("round trip: %+v", got)
	}
}

// A ten-hour run keeps a bounded number of points, and a one-second spike
// survives the merging as a span's highest value.
func TestCurvesBoundedKeepExtremes(t *testing.T) {
	var c metrics.Curves
	rng := rand.New(rand.NewPCG(1, 2))
	const seconds = 10 * 3600
	spikeAt := 23456
	for s := 1; s <= seconds; s++ {
		v := 100 + rng.Float64()
		if s == spikeAt {
			v = 5000
		}
		c.Add(metrics.CurveSample{T: float64(s), Span: 1, Values: []metrics.CurveValue{
			{Name: "iterations", V: v, PerSecond: true},
		}})
		if c.Len() >= metrics.MaxCurvePoints {
			t.Fatalf("%d points after %d seconds", c.Len(), s)
		}
	}
	cs := c.Set()
	cv := cs.Curves[0]
	if len(cs.T) < metrics.MaxCurvePoints/2 || len(cv.Lo) != len(cs.T) || len(cv.Hi) != len(cs.T) {
		t.Fatalf("%d points, lo %d hi %d", len(cs.T), len(cv.Lo), len(cv.Hi))
	}
	if cs.T[len(cs.T)-1] != seconds {
		t.Errorf("the last point ends at %v, want %v", cs.T[len(cs.T)-1], float64(seconds))
	}
	var spans float64
	for _, s := range cs.Span {
		spans += s
	}
	if spans != seconds {
		t.Errorf("spans add up to %v, want %d", spans, seconds)
	}
	if slices.Max(cv.Hi) != 5000 || slices.Max(cv.Mean) >= 5000 {
		t.Errorf("spike: hi max %v, mean max %v", slices.Max(cv.Hi), slices.Max(cv.Mean))
	}
	if lo := slices.Min(cv.Lo); lo < 100 || lo > 101 {
		t.Errorf("lowest %v", lo)
	}
	for i := range cv.Mean {
		if cv.Lo[i] > cv.Mean[i] || cv.Mean[i] > cv.Hi[i] {
			t.Fatalf("point %d: lo %v mean %v hi %v", i, cv.Lo[i], cv.Mean[i], cv.Hi[i])
		}
	}
}

func TestCurvesCap(t *testing.T) {
	var c metrics.Curves
	var vals []metrics.CurveValue
	for i := range metrics.MaxCurves + 10 {
		vals = append(vals, metrics.CurveValue{Name: "e", Tags: "type=t" + string(rune('a'+i%26)) + time.Duration(i).String(), V: 1})
	}
	c.Add(metrics.CurveSample{T: 1, Span: 1, Values: vals})
	cs := c.Set()
	if len(cs.Curves) != metrics.MaxCurves || cs.Dropped != 10 {
		t.Fatalf("%d curves, %d dropped", len(cs.Curves), cs.Dropped)
	}
}

// Once a run has been downsampled, every point covers the same time, old
// or recent.
func TestCurvesEvenSpans(t *testing.T) {
	var c metrics.Curves
	for s := 1; s <= 10*3600; s++ {
		c.Add(metrics.CurveSample{T: float64(s), Span: 1, Values: []metrics.CurveValue{{Name: "x", V: float64(s), PerSecond: true}}})
	}
	cs := c.Set()
	full := cs.Span[0]
	for i, s := range cs.Span[:len(cs.Span)-1] {
		if s != full {
			t.Fatalf("span %d is %v, the first %v", i, s, full)
		}
	}
	if last := cs.Span[len(cs.Span)-1]; last > full || last <= 0 {
		t.Errorf("the last span is %v", last)
	}
	if cs.T[0] != full {
		t.Errorf("the first point ends at %v, want %v", cs.T[0], full)
	}
	// The mean of a span of a linear curve is its midpoint.
	if m := cs.Curves[0].Mean[0]; m != (1+full)/2 {
		t.Errorf("mean of the first span %v, want %v", m, (1+full)/2)
	}
}

// The run's last tick, a fraction of a second, joins the previous point
// instead of showing its counts per second as a spike.
func TestCurvesShortLastSpan(t *testing.T) {
	var c metrics.Curves
	c.Add(metrics.CurveSample{T: 1, Span: 1, Values: []metrics.CurveValue{{Name: "it", V: 100, PerSecond: true}}})
	c.Add(metrics.CurveSample{T: 2, Span: 1, Values: []metrics.CurveValue{{Name: "it", V: 100, PerSecond: true}}})
	c.Add(metrics.CurveSample{T: 2.05, Span: 0.05, Values: []metrics.CurveValue{{Name: "it", V: 800, PerSecond: true}}})
	cs := c.Set()
	if len(cs.T) != 2 || cs.T[1] != 2.05 || math.Abs(cs.Span[1]-1.05) > 1e-9 {
		t.Fatalf("t %v span %v", cs.T, cs.Span)
	}
	// 100 + 40 iterations over 1.05 s.
	if m := cs.Curves[0].Mean[1]; math.Abs(m-140/1.05) > 1e-9 {
		t.Errorf("mean %v, want %v", m, 140/1.05)
	}
	if cs.Curves[0].Hi != nil {
		t.Error("absorbing the last sliver made bands")
	}
}
