package scenario

import (
	"context"
	"fmt"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/metrics"
)

// startCollector closes a metrics window every second: it extends the
// timeline, streams the points, shows progress and checks abortOnFail
// thresholds.
func (r *runState) startCollector(ctx context.Context) func() {
	cctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.recovered("the metrics collector", nil)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				r.tick(time.Now())
				return
			case now := <-t.C:
				r.tick(now)
				r.checkAbort(now)
			}
		}
	}()
	_ = ctx
	return func() { stop(); <-done }
}

func (r *runState) tick(now time.Time) {
	r.host.add(metrics.VUs, float64(r.active.Load()), nil)
	r.vusMu.Lock()
	made := len(r.vus)
	r.vusMu.Unlock()
	r.host.add(metrics.VUsMax, float64(made), nil)
	elapsed, ws := r.store.Tick(now)
	r.tlMu.Lock()
	defer r.tlMu.Unlock()
	prev := 0.0
	if pts := r.timeline.Points(); len(pts) > 0 {
		prev = pts[len(pts)-1].T
	}
	span := elapsed.Seconds() - prev
	if span <= 0 {
		return
	}
	p := metrics.Point{T: elapsed.Seconds()}
	var durs []metrics.Stats
	for _, w := range ws {
		switch w.Series.Def.Name {
		case metrics.Iterations:
			p.Iterations += w.Stats.Sum / span
		case metrics.ToolCalls:
			p.ToolCalls += w.Stats.Sum / span
		case metrics.IterationErrors:
			p.Errors += w.Stats.Sum / span
		case metrics.IterationDuration:
			durs = append(durs, w.Stats)
		case metrics.VUs:
			p.VUs = w.Stats.Value
		}
	}
	if len(durs) > 0 {
		m := metrics.Merge(durs...)
		p.P50, p.P90, p.P95, p.P99 = m.Med, m.P90, m.P95, m.P99
	}
	mem := metrics.ReadMemory()
	p.RSS, p.HeapLive, p.Goroutines = mem.RSS, mem.HeapLive, mem.Goroutines
	r.timeline.Add(p, span)
	cs := r.curveSample(elapsed.Seconds(), span, ws, mem)
	r.curves.Add(cs)
	if r.cfg.Charts != nil {
		r.cfg.Charts.Second(cs)
	}
	if r.cfg.Points != nil {
		r.cfg.Points.WritePoints(now, elapsed, ws)
	}
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "\r\033[K%s  vus %d  iterations %d (%.0f/s)  errors %.0f/s  p95 %.2fms  rss %s",
			elapsed.Round(100*time.Millisecond), int64(p.VUs), r.iterations.Load(), p.Iterations, p.Errors, p.P95, formatBytes(p.RSS))
	}
}

// checkAbort evaluates the abortOnFail thresholds.
func (r *runState) checkAbort(now time.Time) {
	elapsed := now.Sub(r.store.Start())
	var ths []*metrics.Threshold
	for _, t := range r.opts.Thresholds {
		if t.AbortOnFail && elapsed >= t.DelayAbortEval {
			ths = append(ths, t)
		}
	}
	if len(ths) == 0 {
		return
	}
	for _, res := range metrics.EvaluateWith(r.store, ths, r.secondsFor(elapsed.Seconds())) {
		// A series with no value yet has not failed: values may still come.
		if !res.Pass && !res.Missing {
			r.tlMu.Lock()
			r.aborted = append(r.aborted, res.Threshold)
			r.tlMu.Unlock()
			r.cancel(&StopError{Code: exitcode.ThresholdsFailed, Status: "failed",
				Reason: fmt.Sprintf("threshold %s failed (value %g) and has abortOnFail", res.Threshold.Name(), res.Value)})
			return
		}
	}
}

func formatBytes(b uint64) string {
	const mib = 1 << 20
	if b >= 10*mib {
		return fmt.Sprintf("%d MiB", b/mib)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/mib)
}
