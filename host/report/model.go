package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// Model is what the HTML report and the live dashboard show. NewModel
// builds it from a run's result; it is the one place the HTML side reads
// result.Run. Every string in it comes from the run and is escaped
// where it is written.
type Model struct {
	Script, Start, Duration string
	Seed                    uint64
	Status, StopReason      string
	Passed                  bool
	Cards                   []Card
	Charts                  []Chart
	Scenarios               []ScenarioRow
	Tools                   []ToolRow
	Names                   []NameRow
	Thresholds              []ThresholdRow
	Checks                  []CheckRow
	Faults                  []FaultRow
	Errors                  []ErrorRow
	Sections                []Section
	Leak                    *LeakView
	// Options are the resolved options as indented JSON.
	Options string
}

// Card is one headline figure.
type Card struct {
	Label, Value string
	Bad          bool
}

// ScenarioRow is one scenario's line in the results table.
type ScenarioRow struct {
	Name, Executor, Iterations, Rate, Duration, Success, P95, P99, Errors, Dropped string
	OK                                                                             bool
}

// ToolRow is one tool's calls.
type ToolRow struct{ Tool, Calls, Outcomes, Avg, P95, P99 string }

// NameRow is a trend series tagged with a request name (the tag "name",
// as HTTP tools and scripts set it).
type NameRow struct{ Metric, Name, Count, Avg, Med, P95, P99, Max string }

// ThresholdRow is one threshold's outcome.
type ThresholdRow struct {
	Metric, Expr, Value, Note string
	Pass                      bool
}

// CheckRow is one check.
type CheckRow struct {
	Scenario, Name, Passes, Fails, Rate string
	OK                                  bool
}

// FaultRow is one fault rule with its hits.
type FaultRow struct {
	Target, Rule, Calls, Hits, Holding string
	Active                             bool
}

// ErrorRow is one distinct error message of a scenario.
type ErrorRow struct{ Scenario, Type, Count, Message string }

// Section is a titled block of key/value rows (tasks).
type Section struct {
	Title string
	Rows  [][]string
}

// LeakView is the memory verdict and its figures.
type LeakView struct {
	Verdict, Reason string
	Bad             bool
	Rows            [][2]string
}

// NewModel builds the report model of a run.
func NewModel(r *result.Run) *Model {
	m := &Model{
		Script: r.Script, Start: r.Start.Format("2006-01-02 15:04:05 MST"), Duration: Ms(r.Duration * 1000),
		Seed: r.Seed, Status: r.Status, StopReason: r.StopReason, Passed: r.Status == "passed",
	}
	var iters, errs, dropped int64
	var secs float64
	for _, sc := range r.Scenarios {
		iters += sc.Iterations
		errs += sc.Errors + sc.Timeouts
		dropped += sc.Dropped
		secs = max(secs, sc.Duration)
		m.Scenarios = append(m.Scenarios, ScenarioRow{
			Name: sc.Name, Executor: sc.Executor, Iterations: Count(sc.Iterations), Rate: Rate(sc.Rate),
			Duration: Ms(sc.Duration * 1000), Success: fmt.Sprintf("%.2f%%", 100*sc.SuccessRate),
			P95: Ms(sc.Latency.P95), P99: Ms(sc.Latency.P99), Errors: Count(sc.Errors + sc.Timeouts),
			Dropped: Count(sc.Dropped), OK: scenarioOK(sc),
		})
		for _, e := range sc.FirstErrors {
			m.Errors = append(m.Errors, ErrorRow{Scenario: sc.Name, Type: e.Type, Count: Count(e.Count), Message: firstLine(e.Message)})
		}
		if sc.OtherErrors > 0 {
			m.Errors = append(m.Errors, ErrorRow{Scenario: sc.Name, Type: "(others)", Count: Count(sc.OtherErrors), Message: "more distinct messages, not kept"})
		}
	}
	passed := 0
	for _, t := range r.Thresholds {
		if t.Pass {
			passed++
		}
		var notes []string
		value := Value(t.Value, t.Unit)
		switch {
		case t.Reason != "":
			notes, value = append(notes, t.Reason), "no data"
		case t.NoData:
			notes = append(notes, "no data")
		}
		if t.Warning != "" {
			notes = append(notes, "⚠ "+t.Warning)
		}
		if t.AbortedRun {
			notes = append(notes, "stopped the run")
		}
		m.Thresholds = append(m.Thresholds, ThresholdRow{Metric: t.Metric, Expr: t.Expr, Value: value,
			Pass: t.Pass, Note: strings.Join(notes, ", ")})
	}
	status := strings.ToUpper(r.Status)
	if status == "" {
		status = "UNKNOWN"
	}
	m.Cards = append(m.Cards, Card{Label: "result", Value: status, Bad: !m.Passed})
	m.Cards = append(m.Cards, Card{Label: "iterations", Value: Count(iters)})
	if r.Duration > 0 {
		m.Cards = append(m.Cards, Card{Label: "iterations/s", Value: Rate(float64(iters) / r.Duration)})
	}
	m.Cards = append(m.Cards, Card{Label: "errors and timeouts", Value: Count(errs), Bad: errs > 0})
	if dropped > 0 {
		m.Cards = append(m.Cards, Card{Label: "dropped iterations", Value: Count(dropped), Bad: true})
	}
	if len(r.Thresholds) > 0 {
		m.Cards = append(m.Cards, Card{Label: "thresholds passed", Value: fmt.Sprintf("%d of %d", passed, len(r.Thresholds)), Bad: passed < len(r.Thresholds)})
	}
	for _, t := range r.Tools {
		keys := make([]string, 0, len(t.Outcomes))
		for k := range t.Outcomes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var outs []string
		for _, k := range keys {
			outs = append(outs, k+" "+Count(t.Outcomes[k]))
		}
		m.Tools = append(m.Tools, ToolRow{Tool: t.Tool, Calls: Count(t.Calls), Outcomes: strings.Join(outs, ", "),
			Avg: Ms(t.Latency.Avg), P95: Ms(t.Latency.P95), P99: Ms(t.Latency.P99)})
	}
	m.Names = nameRows(r.Metrics)
	checks := r.Checks
	for _, c := range checks {
		total := c.Passes + c.Fails
		rate := "-"
		if total > 0 {
			rate = fmt.Sprintf("%.2f%%", 100*float64(c.Passes)/float64(total))
		}
		m.Checks = append(m.Checks, CheckRow{Scenario: c.Scenario, Name: c.Name, Passes: Count(c.Passes), Fails: Count(c.Fails), Rate: rate, OK: c.Fails == 0})
	}
	for _, f := range r.Faults {
		var hold []string
		if f.LeakedBytes > 0 {
			hold = append(hold, Bytes(float64(f.LeakedBytes)))
		}
		if f.ParkedGoroutines > 0 {
			hold = append(hold, plural(int64(f.ParkedGoroutines), "goroutine", "goroutines"))
		}
		m.Faults = append(m.Faults, FaultRow{Target: f.Target, Rule: f.Rule, Calls: Count(f.Calls), Hits: Count(f.Hits),
			Active: f.Active, Holding: strings.Join(hold, ", ")})
	}
	for _, s := range r.Sections {
		m.Sections = append(m.Sections, Section{Title: s.Title, Rows: s.Rows})
	}
	if mem := r.Memory; len(mem.Samples) > 0 {
		lk := mem.Leak
		lv := &LeakView{Verdict: lk.Verdict, Reason: lk.Reason, Bad: lk.Verdict == metrics.Leak}
		lv.Rows = [][2]string{{"peak RSS", Bytes(float64(mem.Peak.RSS))}, {"peak goroutines", Count(int64(mem.Peak.Goroutines))}}
		if lk.Verdict != metrics.Insufficient {
			lv.Rows = append(lv.Rows,
				[2]string{"live heap", Bytes(lk.StartHeap) + " → " + Bytes(lk.EndHeap)},
				[2]string{"RSS", Bytes(lk.StartRSS) + " → " + Bytes(lk.EndRSS)},
				[2]string{"goroutine growth", goroutineChange(lk.GoroutineGrowth)},
				[2]string{"slope", slope(lk)},
				[2]string{"levels", "warn " + Bytes(float64(lk.WarnBytes)) + ", fail " + Bytes(float64(lk.FailBytes))})
		}
		m.Leak = lv
		m.Cards = append(m.Cards, Card{Label: "memory", Value: lk.Verdict, Bad: lv.Bad}, Card{Label: "peak RSS", Value: Bytes(float64(mem.Peak.RSS))})
	}
	if len(r.RunOptions) > 0 {
		if b, err := json.Marshal(r.RunOptions, json.Deterministic(true), jsontext.WithIndent("  "), jsontext.AllowInvalidUTF8(true)); err == nil {
			m.Options = string(b)
		}
	}
	m.Charts = Charts(r.Curves, memoryInput(r))
	return m
}

// nameRows groups the trend series that carry a "name" tag.
func nameRows(ms []result.Metric) []NameRow {
	type key struct{ metric, name, unit string }
	groups := map[key][]metrics.Hist{}
	stats := map[key]metrics.Stats{}
	var keys []key
	for _, mr := range ms {
		name := mr.Tags["name"]
		if name == "" || mr.Kind != "trend" {
			continue
		}
		k := key{mr.Name, name, mr.Unit}
		if _, ok := stats[k]; !ok {
			keys = append(keys, k)
			stats[k] = mr.Stats
		} else {
			// Several series of one name (other tags differ): merge
			// their distributions for the percentiles.
			s := stats[k]
			s.Count += mr.Stats.Count
			s.Sum += mr.Stats.Sum
			s.Max = math.Max(s.Max, mr.Stats.Max)
			stats[k] = s
		}
		if mr.Hist != nil {
			groups[k] = append(groups[k], *mr.Hist)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].metric != keys[j].metric {
			return keys[i].metric < keys[j].metric
		}
		return keys[i].name < keys[j].name
	})
	var out []NameRow
	for _, k := range keys {
		s := stats[k]
		med, p95, p99 := s.Med, s.P95, s.P99
		if hs := groups[k]; len(hs) > 1 {
			d := &metrics.Dist{}
			for _, h := range hs {
				if hd, err := metrics.DecodeHist(&h); err == nil {
					d = d.Merge(hd)
				}
			}
			med, p95, p99 = d.Quantile(0.5), d.Quantile(0.95), d.Quantile(0.99)
		}
		avg := 0.0
		if s.Count > 0 {
			avg = s.Sum / float64(s.Count)
		}
		v := func(x float64) string { return Value(x, k.unit) }
		out = append(out, NameRow{Metric: k.metric, Name: k.name, Count: Count(s.Count), Avg: v(avg), Med: v(med), P95: v(p95), P99: v(p99), Max: v(s.Max)})
	}
	return out
}
