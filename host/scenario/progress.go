package scenario

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// DefaultProgressInterval is how often a run whose progress goes to a
// file or a pipe (CI) prints a progress line.
const DefaultProgressInterval = 10 * time.Second

// writePlan writes the execution plan as the scenarios are about to
// start: each scenario's executor, VUs and time, and the run's bounds.
func writePlan(w io.Writer, script string, scs []*Scenario) {
	var b strings.Builder
	maxVUs := 0
	var longest time.Duration
	ends := map[string]time.Duration{}
	var end func(sc *Scenario) time.Duration
	byName := map[string]*Scenario{}
	for _, sc := range scs {
		byName[sc.Name] = sc
	}
	end = func(sc *Scenario) time.Duration {
		if d, ok := ends[sc.Name]; ok {
			return d
		}
		ends[sc.Name] = 0 // startAfter has no cycle (checked), this only guards
		start := sc.StartTime
		for _, dep := range sc.StartAfter {
			if d := byName[dep]; d != nil {
				start = max(start, end(d)+sc.StartTime)
			}
		}
		d := start + scenarioLength(sc) + max(sc.GracefulStop, sc.GracefulRampDown)
		ends[sc.Name] = d
		return d
	}
	for _, sc := range scs {
		maxVUs += scenarioMaxVUs(sc)
		longest = max(longest, end(sc))
	}
	fmt.Fprintf(&b, "spellhost run %s: %s, at most %s, at most %v with graceful stops\n", script,
		pluralize(len(scs), "scenario", "scenarios"), pluralize(maxVUs, "VU", "VUs"), longest)
	for _, sc := range scs {
		fmt.Fprintf(&b, "  * %s: %s%s\n", sc.Name, describeScenario(sc), describeStart(sc))
	}
	io.WriteString(w, b.String())
}

// scenarioLength is how long a scenario starts iterations: its duration,
// the sum of its stages, or its maxDuration.
func scenarioLength(sc *Scenario) time.Duration {
	switch sc.Executor {
	case RampingVUs, RampingArrivalRate:
		var d time.Duration
		for _, st := range sc.Stages {
			d += st.Duration
		}
		return d
	case SharedIterations, PerVUIterations:
		return sc.MaxDuration
	}
	return sc.Duration
}

// scenarioMaxVUs is the most VUs a scenario may run.
func scenarioMaxVUs(sc *Scenario) int {
	switch sc.Executor {
	case ConstantArrivalRate, RampingArrivalRate:
		return max(sc.MaxVUs, sc.PreAllocatedVUs)
	case RampingVUs:
		n := sc.StartVUs
		for _, st := range sc.Stages {
			n = max(n, st.Target)
		}
		return n
	}
	return sc.VUs
}

// describeScenario says what a scenario will do, in a few words.
func describeScenario(sc *Scenario) string {
	vus := func(n int) string { return pluralize(n, "VU", "VUs") }
	grace := fmt.Sprintf("gracefulStop %v", sc.GracefulStop)
	var s string
	switch sc.Executor {
	case SharedIterations:
		s = fmt.Sprintf("%s shared by %s, at most %v", pluralize(sc.Iterations, "iteration", "iterations"), vus(sc.VUs), sc.MaxDuration)
	case PerVUIterations:
		s = fmt.Sprintf("%s for each of %s, at most %v", pluralize(sc.Iterations, "iteration", "iterations"), vus(sc.VUs), sc.MaxDuration)
	case ConstantVUs:
		s = fmt.Sprintf("%s looping for %v", vus(sc.VUs), sc.Duration)
	case RampingVUs:
		s = fmt.Sprintf("from %s up to %s over %s, %v", vus(sc.StartVUs), vus(scenarioMaxVUs(sc)),
			pluralize(len(sc.Stages), "stage", "stages"), scenarioLength(sc))
		grace += fmt.Sprintf(", gracefulRampDown %v", sc.GracefulRampDown)
	case ConstantArrivalRate:
		s = fmt.Sprintf("%s per %v for %v, %d to %s", pluralize(sc.Rate, "iteration", "iterations"), sc.TimeUnit, sc.Duration,
			sc.PreAllocatedVUs, vus(sc.MaxVUs))
	case RampingArrivalRate:
		top := sc.StartRate
		for _, st := range sc.Stages {
			top = max(top, st.Target)
		}
		s = fmt.Sprintf("from %d up to %s per %v over %s, %v, %d to %s", sc.StartRate, pluralize(top, "iteration", "iterations"),
			sc.TimeUnit, pluralize(len(sc.Stages), "stage", "stages"), scenarioLength(sc), sc.PreAllocatedVUs, vus(sc.MaxVUs))
	}
	if sc.Timeout > 0 {
		grace += fmt.Sprintf(", iteration timeout %v", sc.Timeout)
	}
	return fmt.Sprintf("%s, %s (%s)", sc.Executor, s, grace)
}

// describeStart says when a scenario starts, when not at once.
func describeStart(sc *Scenario) string {
	var parts []string
	if len(sc.StartAfter) > 0 {
		parts = append(parts, "after "+strings.Join(sc.StartAfter, ", ")+" end")
	}
	if sc.StartTime > 0 {
		parts = append(parts, fmt.Sprintf("starts %v later", sc.StartTime))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return humanize.Comma(int64(n)) + " " + many
}

// progress is one progress line's figures.
type progress struct {
	elapsed               time.Duration
	vus, maxVUs           int64
	complete, interrupted int64
	perSecond, p95ms      float64
	errors                float64
	scenarios             []string // "name 33%"
}

// line renders a progress line for a log (no terminal control).
func (p progress) line() string {
	s := fmt.Sprintf("running (%v), %d/%d VUs, %s complete and %s interrupted iterations (%s/s), %s, p95 %s",
		p.elapsed.Round(100*time.Millisecond), p.vus, p.maxVUs, humanize.Comma(p.complete), humanize.Comma(p.interrupted),
		humanize.CommafWithDigits(p.perSecond, 1), pluralize(int(p.errors), "error", "errors"), fmtMs(p.p95ms))
	if len(p.scenarios) > 0 {
		s += "; " + strings.Join(p.scenarios, ", ")
	}
	return s
}

func fmtMs(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond).String()
}

// scenarioProgress says how far a scenario is: done, waiting, or its
// share of its time or iterations.
func (r *runState) scenarioProgress(sr *scenarioRun, now time.Time) string {
	start, end := sr.span()
	sr.mu.Lock()
	ended := !sr.ended.IsZero()
	sr.mu.Unlock()
	switch {
	case ended:
		return sr.sc.Name + " done"
	case start.IsZero():
		return sr.sc.Name + " waiting"
	}
	_ = end
	sc := sr.sc
	var frac float64
	switch sc.Executor {
	case SharedIterations:
		frac = float64(sr.next.Load()) / float64(max(sc.Iterations, 1))
	case PerVUIterations:
		frac = float64(sr.next.Load()) / float64(max(sc.Iterations*sc.VUs, 1))
	default:
		if l := scenarioLength(sc); l > 0 {
			frac = float64(now.Sub(start)) / float64(l)
		}
	}
	return fmt.Sprintf("%s %d%%", sc.Name, int(100*min(frac, 1)))
}
