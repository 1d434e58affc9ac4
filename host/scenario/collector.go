package scenario

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dustin/go-humanize"

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
				r.tick(time.Now(), true)
				return
			case now := <-t.C:
				r.tick(now, false)
				r.checkAbort(now)
			}
		}
	}()
	_ = ctx
	return func() { stop(); <-done }
}

// tick closes one second; final is the last tick, as the scenarios end.
func (r *runState) tick(now time.Time, final bool) {
	r.sampleVUs()
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
	switch {
	case r.cfg.Progress == nil:
	case r.cfg.ProgressTerminal:
		fmt.Fprintf(r.cfg.Progress, "\r\033[K%s  vus %d  iterations %s (%.0f/s)  errors %.0f/s  p95 %.2fms  rss %s",
			elapsed.Round(100*time.Millisecond), int64(p.VUs), humanize.Comma(r.iterations.Load()), p.Iterations, p.Errors, p.P95, formatBytes(p.RSS))
	case final || now.Sub(r.lastProgress) >= r.progressInterval():
		fmt.Fprintln(r.cfg.Progress, r.progressNow(now, elapsed, p).line())
	}
}

// sampleVUs records the VUs running iterations (vus) and the VUs made
// (vus_max); the memory sampler calls it too, so a run shorter than a
// second has them.
func (r *runState) sampleVUs() {
	r.host.add(metrics.VUs, float64(r.active.Load()), nil)
	r.vusMu.Lock()
	made := len(r.vus)
	r.vusMu.Unlock()
	r.host.add(metrics.VUsMax, float64(made), nil)
}

func (r *runState) progressInterval() time.Duration {
	if r.cfg.ProgressInterval > 0 {
		return r.cfg.ProgressInterval
	}
	return DefaultProgressInterval
}

// progressNow gathers a progress line's figures; the rate counts the
// iterations since the last line. The timeline's lock is held.
func (r *runState) progressNow(now time.Time, elapsed time.Duration, p metrics.Point) progress {
	complete := r.iterations.Load()
	since := now.Sub(r.lastProgress)
	if r.lastProgress.IsZero() {
		since = elapsed
	}
	pr := progress{elapsed: elapsed, vus: r.active.Load(), complete: complete, p95ms: p.P95}
	if since > 0 {
		pr.perSecond = float64(complete-r.lastComplete) / since.Seconds()
	}
	r.lastProgress, r.lastComplete = now, complete
	r.vusMu.Lock()
	pr.maxVUs = int64(len(r.vus))
	r.vusMu.Unlock()
	errs, _, _ := r.store.Stats(metrics.Query{Metric: metrics.IterationErrors}, 1)
	pr.errors = errs.Sum
	r.live.Lock()
	scenarios := slices.Clone(r.scenarios)
	r.live.Unlock()
	for _, sr := range scenarios {
		sr.mu.Lock()
		pr.interrupted += sr.interrupted
		sr.mu.Unlock()
		pr.scenarios = append(pr.scenarios, r.scenarioProgress(sr, now))
	}
	return pr
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
