package report

import (
	"fmt"
	"math"
	"strings"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// plural writes a count with its noun, singular or plural: "1 call",
// "1,204 calls".
func plural(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return Count(n) + " " + one
	}
	return Count(n) + " " + many
}

// goroutineChange writes a change in goroutines as a whole signed number:
// the leak verdict's figure is a difference of means.
func goroutineChange(g float64) string {
	n := int64(math.Round(g))
	if n > 0 {
		return "+" + Count(n)
	}
	return Count(n)
}

// minSlopeSamples is how many samples after the warm-up a fitted slope
// needs before the summary states it without a caveat.
const minSlopeSamples = 30

// slope writes the leak verdict's fitted slope with its R², qualified
// when it rests on too few samples to trust.
func slope(lk metrics.LeakReport) string {
	if lk.Verdict == metrics.Insufficient {
		return "none: too few samples after the warm-up"
	}
	s := fmt.Sprintf("%s %s (R² %.2f)", Bytes(lk.Slope), strings.TrimPrefix(lk.SlopeUnit, "bytes "), lk.R2)
	if lk.Samples < minSlopeSamples {
		s += fmt.Sprintf(", from only %s: a rough figure", plural(int64(lk.Samples), "sample", "samples"))
	}
	return s
}

// totalValue writes one of a total's figures in its unit.
func totalValue(t result.Total, v float64) string {
	switch t.Contains {
	case "time":
		return Ms(v)
	case "data":
		return Bytes(v)
	}
	return Value(v, "")
}

// totalFigures writes a total's figures as the summary's metrics block
// shows them: a counter's count and rate, a gauge's value with min and
// max, a rate as a percentage with passes and fails, a trend's figures
// in the run's order.
func totalFigures(t result.Total, trendStats []string) string {
	v := t.Values
	switch t.Kind {
	case "counter":
		return fmt.Sprintf("%s  %s", totalValue(t, v["count"]), Rate(v["rate"]))
	case "gauge":
		if t.Count == 0 {
			return "no data"
		}
		return fmt.Sprintf("%s  min=%s max=%s", totalValue(t, v["value"]), totalValue(t, v["min"]), totalValue(t, v["max"]))
	case "rate":
		if t.Count == 0 {
			return "no data"
		}
		return fmt.Sprintf("%.2f%%  ✓ %s  ✗ %s", 100*v["rate"], Count(int64(v["passes"])), Count(int64(v["fails"])))
	}
	if t.Count == 0 {
		return "no data"
	}
	parts := make([]string, 0, len(trendStats))
	for _, st := range trendStats {
		x, ok := v[st]
		if !ok {
			continue
		}
		if st == "count" {
			parts = append(parts, "count="+Count(int64(x)))
			continue
		}
		parts = append(parts, st+"="+totalValue(t, x))
	}
	return strings.Join(parts, " ")
}

// droppedWarning says why an arrival-rate scenario dropped iterations.
func droppedWarning(sc result.Scenario) string {
	vus := "its VUs were"
	switch {
	case sc.MaxVUs == 1:
		vus = "its only VU (maxVUs 1) was"
	case sc.MaxVUs > 1:
		vus = "all " + Count(int64(sc.MaxVUs)) + " VUs (maxVUs) were"
	}
	return fmt.Sprintf("dropped %s: %s busy when they were due; raise maxVUs or lower the rate",
		plural(sc.Dropped, "iteration", "iterations"), vus)
}
