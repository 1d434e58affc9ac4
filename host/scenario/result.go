package scenario

import (
	"slices"
	"sort"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// finish fills the result: per-scenario figures, thresholds, checks,
// tools, memory and the timeline. final is false for a snapshot of a run
// still going on: the leak verdict is then not recorded as metrics.
func (r *runState) finish(res *result.Run, final bool) {
	r.live.Lock()
	opts, scenarios := r.opts, slices.Clone(r.scenarios)
	r.live.Unlock()
	end := time.Now()
	res.Duration = end.Sub(r.store.Start()).Seconds()
	res.Kernel = result.Kernel(r.k.Stats())
	for _, f := range r.k.Options().Faults.All() {
		res.Faults = append(res.Faults, result.Fault(f))
	}
	if sec, ok := taskSection(r.k); ok {
		res.Sections = append(res.Sections, sec)
	}
	samples := r.sampler.Samples()
	mo := MemoryOptions{Warn: metrics.DefaultWarnBytes, Fail: metrics.DefaultFailBytes}
	if opts != nil {
		mo = opts.Memory
	}
	leak := metrics.JudgeLeak(samples, metrics.LeakConfig{WarmUp: mo.WarmUp, WarnBytes: mo.Warn, FailBytes: mo.Fail})
	res.Memory = result.Memory{Samples: samples, Peak: r.sampler.Peak(), Leak: leak}
	res.Memory.Peak.RSS = max(res.Memory.Peak.RSS, r.mem.Peak())
	res.Memory.Limit = r.mem.Limit()
	if leak.Verdict != metrics.Insufficient && final {
		r.host.add(metrics.MemoryGrowth, leak.HeapGrowth, nil)
		r.host.add(metrics.MemorySlope, leak.Slope, nil)
	}
	r.tlMu.Lock()
	res.Timeline = r.timeline.Points()
	if r.curves.Len() > 0 {
		res.Curves = r.curves.Set()
	}
	aborted := r.aborted
	r.tlMu.Unlock()

	secs := res.Duration
	ordered := scenarios
	sort.SliceStable(ordered, func(i, j int) bool {
		a, _ := ordered[i].span()
		b, _ := ordered[j].span()
		return !a.IsZero() && (b.IsZero() || a.Before(b))
	})
	for _, sr := range ordered {
		res.Scenarios = append(res.Scenarios, r.scenarioResult(sr))
	}
	if opts != nil {
		res.RunOptions = opts.Describe()
		for _, t := range metrics.EvaluateWith(r.store, opts.Thresholds, r.secondsFor(secs)) {
			def, _ := r.store.Def(t.Threshold.Query.Metric)
			tr := result.Threshold{Metric: t.Threshold.Query.String(), Expr: t.Threshold.Source, Value: t.Value,
				Pass: t.Pass, NoData: t.NoData, Unit: unitName(def), Reason: t.Reason, UnknownTagKeys: t.UnknownKeys, Warning: t.Warning}
			for _, a := range aborted {
				if a == t.Threshold {
					tr.AbortedRun = true
				}
			}
			res.Thresholds = append(res.Thresholds, tr)
			if sc := t.Threshold.Query.Tags["scenario"]; sc != "" {
				for i := range res.Scenarios {
					if res.Scenarios[i].Name == sc {
						res.Scenarios[i].Thresholds = append(res.Scenarios[i].Thresholds, tr)
					}
				}
			}
		}
	}
	res.TrendStats = r.trendStats()
	res.Totals = r.totals(opts, secs, res.TrendStats)
	res.MaxSeries = r.store.MaxSeries()
	res.Dropped = r.store.Dropped()
	tools := map[string]*result.Tool{}
	checks := map[[2]string]*result.Check{}
	for _, w := range r.store.All(secs) {
		s := w.Series
		tags := s.TagMap()
		mr := result.Metric{Name: s.Def.Name, Tags: tags, Kind: s.Def.Kind.String(), Unit: unitName(s.Def), Stats: w.Stats, Hist: w.Stats.Hist()}
		res.Metrics = append(res.Metrics, mr)
		switch s.Def.Name {
		case metrics.ToolCalls:
			t := tools[tags["tool"]]
			if t == nil {
				t = &result.Tool{Tool: tags["tool"], Outcomes: map[string]int64{}}
				tools[tags["tool"]] = t
			}
			t.Calls += int64(w.Stats.Sum)
			t.Outcomes[tags["outcome"]] += int64(w.Stats.Sum)
		case metrics.Checks:
			key := [2]string{tags["check"], tags["scenario"]}
			c := checks[key]
			if c == nil {
				c = &result.Check{Name: tags["check"], Scenario: tags["scenario"]}
				checks[key] = c
			}
			c.Passes += w.Stats.Trues
			c.Fails += w.Stats.Count - w.Stats.Trues
		}
	}
	for name, t := range tools {
		t.Latency, _, _ = r.store.Stats(metrics.Query{Metric: metrics.ToolDuration, Tags: map[string]string{"tool": name}}, secs)
		res.Tools = append(res.Tools, *t)
	}
	sort.Slice(res.Tools, func(i, j int) bool { return res.Tools[i].Tool < res.Tools[j].Tool })
	for _, c := range checks {
		res.Checks = append(res.Checks, *c)
	}
	sort.Slice(res.Checks, func(i, j int) bool {
		if res.Checks[i].Scenario != res.Checks[j].Scenario {
			return res.Checks[i].Scenario < res.Checks[j].Scenario
		}
		return res.Checks[i].Name < res.Checks[j].Name
	})
	for i := range res.Scenarios {
		for _, c := range res.Checks {
			if c.Scenario == res.Scenarios[i].Name {
				res.Scenarios[i].Checks = append(res.Scenarios[i].Checks, c)
			}
		}
	}
}

// secondsFor is the time base of a threshold's rate: a sub-metric of one
// scenario counts per second of that scenario's run; anything else per
// second of the whole run.
func (r *runState) secondsFor(whole float64) func(q metrics.Query) float64 {
	r.live.Lock()
	scenarios := slices.Clone(r.scenarios)
	r.live.Unlock()
	return func(q metrics.Query) float64 {
		name := q.Tags["scenario"]
		for _, sr := range scenarios {
			if start, end := sr.span(); sr.sc.Name == name && !start.IsZero() {
				return end.Sub(start).Seconds()
			}
		}
		return whole
	}
}

func (r *runState) scenarioResult(sr *scenarioRun) result.Scenario {
	sc := sr.sc
	q := func(metric string) metrics.Stats {
		s, _, _ := r.store.Stats(metrics.Query{Metric: metric, Tags: map[string]string{"scenario": sc.Name}}, 1)
		return s
	}
	out := result.Scenario{Name: sc.Name, Executor: sc.Executor, Tags: sc.Tags}
	if start, end := sr.span(); !start.IsZero() {
		out.Duration = end.Sub(start).Seconds()
	}
	out.Iterations = int64(q(metrics.Iterations).Sum)
	out.Errors = int64(q(metrics.IterationErrors).Sum)
	out.Timeouts = int64(q(metrics.IterationTimeouts).Sum)
	out.Dropped = int64(q(metrics.DroppedIterations).Sum)
	sr.mu.Lock()
	out.Interrupted = sr.interrupted
	sr.mu.Unlock()
	if sc.Executor == ConstantArrivalRate || sc.Executor == RampingArrivalRate {
		out.MaxVUs = sc.MaxVUs
	}
	if out.Duration > 0 {
		out.Rate = float64(out.Iterations) / out.Duration
	}
	if started := out.Iterations + out.Interrupted; started > 0 {
		out.SuccessRate = float64(out.Iterations-out.Errors-out.Timeouts) / float64(started)
	}
	out.Latency = q(metrics.IterationDuration)
	out.Service = q(metrics.IterationService)
	out.FirstErrors, out.OtherErrors = sr.errs.snapshot()
	out.ErrorsByType = map[string]int64{}
	for _, w := range r.store.All(1) {
		if w.Series.Def.Name == metrics.IterationErrors && w.Series.TagMap()["scenario"] == sc.Name {
			out.ErrorsByType[w.Series.TagMap()["type"]] += int64(w.Stats.Sum)
		}
	}
	return out
}

// trendStats are the trend figures the summary shows.
func (r *runState) trendStats() []string {
	if len(r.cfg.SummaryTrendStats) > 0 {
		return r.cfg.SummaryTrendStats
	}
	return metrics.DefaultTrendStats
}

// totals are every metric with a value, then the sub-metrics the
// thresholds name, over the whole run.
func (r *runState) totals(opts *Options, secs float64, trendStats []string) []result.Total {
	var out []result.Total
	add := func(q metrics.Query) {
		s, def, ok := r.store.Stats(q, secs)
		if !ok {
			return
		}
		out = append(out, result.Total{Name: q.String(), Metric: def.Name, Tags: q.Tags, Kind: def.Kind.String(),
			Contains: def.Unit.Contains(), Values: metrics.SummaryValues(def.Kind, s, trendStats), Count: s.Count})
	}
	var names []string
	for _, def := range r.store.Metrics() {
		names = append(names, def.Name)
		add(metrics.Query{Metric: def.Name})
	}
	if opts == nil {
		return out
	}
	// Then what the thresholds name that is not there yet: sub-metrics,
	// and metrics that received no value.
	for _, t := range opts.Thresholds {
		if name := t.Query.String(); !slices.Contains(names, name) {
			names = append(names, name)
			add(t.Query)
		}
	}
	return out
}

func unitName(d *metrics.Def) string {
	if d == nil {
		return ""
	}
	switch d.Unit {
	case metrics.Time:
		return "ms"
	case metrics.Data:
		return "bytes"
	}
	return ""
}
