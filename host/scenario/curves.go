package scenario

import (
	"math"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// LiveSink receives each second's chart values while the run goes (the
// --dashboard feed). Second is called from the run's collector; it must
// not block.
type LiveSink interface {
	Second(metrics.CurveSample)
}

// curveSample turns one tick's windows into chart values.
func (r *runState) curveSample(elapsed, span float64, ws []metrics.Window, mem metrics.MemSample) metrics.CurveSample {
	out := metrics.CurveSample{T: elapsed, Span: span}
	add := func(name, tags string, v float64, perSecond bool) {
		out.Values = append(out.Values, metrics.CurveValue{Name: name, Tags: tags, V: v, PerSecond: perSecond})
	}
	scen := func(name string) string { return metrics.Tags(map[string]string{"scenario": name}) }
	iters := map[string]float64{}
	dropped := map[string]float64{}
	durs := map[string][]metrics.Stats{}
	var calls float64
	vus := math.NaN()
	for _, w := range ws {
		tags := w.Series.TagMap()
		switch w.Series.Def.Name {
		case metrics.Iterations:
			iters[tags["scenario"]] += w.Stats.Sum / span
		case metrics.DroppedIterations:
			dropped[tags["scenario"]] += w.Stats.Sum / span
		case metrics.IterationDuration:
			durs[tags["scenario"]] = append(durs[tags["scenario"]], w.Stats)
		case metrics.IterationErrors:
			add(result.CurveErrors, metrics.Tags(map[string]string{"type": tags["type"]}), w.Stats.Sum/span, true)
		case metrics.IterationTimeouts:
			add(result.CurveErrors, "type=iteration_timeout", w.Stats.Sum/span, true)
		case metrics.ToolCalls:
			calls += w.Stats.Sum / span
		case metrics.VUs:
			vus = w.Stats.Value
		}
	}
	// Every started scenario has a point each second, zero or not, so its
	// curve exists from its start.
	for _, sr := range r.scenarios {
		name := sr.sc.Name
		if !sr.begun.Load() {
			continue
		}
		add(result.CurveIterations, scen(name), iters[name], true)
		if sr.sc.Executor == ConstantArrivalRate || sr.sc.Executor == RampingArrivalRate || dropped[name] > 0 {
			add(result.CurveDropped, scen(name), dropped[name], true)
		}
		if ds := durs[name]; len(ds) > 0 {
			m := metrics.Merge(ds...)
			add(result.CurveP50, scen(name), m.Med, false)
			add(result.CurveP90, scen(name), m.P90, false)
			add(result.CurveP99, scen(name), m.P99, false)
			add(result.CurveMax, scen(name), m.Max, false)
		}
	}
	add(result.CurveToolCalls, "", calls, true)
	add(result.CurveVUs, "", vus, false)
	add(result.CurveRSS, "", float64(mem.RSS), false)
	add(result.CurveHeapLive, "", float64(mem.HeapLive), false)
	add(result.CurveGoroutines, "", float64(mem.Goroutines), false)
	return out
}
