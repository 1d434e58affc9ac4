package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"spellhost/host/metrics"
	"spellhost/host/result"
	"spellhost/tools"
)

func tick(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

// WriteMarkdown writes the run as a Markdown report: a results table, an
// analysis per scenario, acceptance criteria from the thresholds, the
// tools, and the memory timeline with the leak verdict.
func WriteMarkdown(w io.Writer, r *result.Run) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	ok := r.Status == "passed"
	p("# spellhost report: %s\n\n", r.Script)
	p("**Date:** %s  \n**Duration:** %s  \n**Seed:** %d  \n**Result:** %s %s\n",
		r.Start.Format("2006-01-02 15:04:05 MST"), Ms(r.Duration*1000), r.Seed, tick(ok), strings.ToUpper(r.Status))
	if r.StopReason != "" {
		p("**Stopped:** %s\n", r.StopReason)
	}

	var iters, errs int64
	for _, sc := range r.Scenarios {
		iters += sc.Iterations
		errs += sc.Errors + sc.Timeouts
	}
	passed := 0
	for _, t := range r.Thresholds {
		if t.Pass {
			passed++
		}
	}
	p("\n## Executive summary\n\n")
	p("- %s iterations in %d scenarios, %s errors or timeouts\n", Count(iters), len(r.Scenarios), Count(errs))
	p("- %d of %d thresholds passed\n", passed, len(r.Thresholds))
	if len(r.Memory.Samples) > 0 {
		p("- memory verdict: **%s** (%s)\n", r.Memory.Leak.Verdict, r.Memory.Leak.Reason)
	}

	if len(r.Scenarios) > 0 {
		p("\n## Results\n\n| Scenario | Executor | Iterations | Duration | Ops/s | Success | p95 | p99 | Status |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, sc := range r.Scenarios {
			p("| %s | %s | %s | %s | %s | %.2f%% | %s | %s | %s |\n", sc.Name, sc.Executor, Count(sc.Iterations),
				Ms(sc.Duration*1000), Rate(sc.Rate), 100*sc.SuccessRate, Ms(sc.Latency.P95), Ms(sc.Latency.P99), tick(scenarioOK(sc)))
		}
		p("\n## Analysis per scenario\n")
		for _, sc := range r.Scenarios {
			p("\n### %s\n\n", sc.Name)
			p("**Executor:** %s", sc.Executor)
			if len(sc.Tags) > 0 {
				keys := make([]string, 0, len(sc.Tags))
				for k := range sc.Tags {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				var parts []string
				for _, k := range keys {
					parts = append(parts, k+"="+sc.Tags[k])
				}
				p("  \n**Tags:** %s", strings.Join(parts, ", "))
			}
			p("\n\n```\n")
			p("Iterations:   %s\n", Count(sc.Iterations))
			p("Errors:       %s\n", Count(sc.Errors))
			p("Timeouts:     %s\n", Count(sc.Timeouts))
			if sc.Dropped > 0 {
				p("Dropped:      %s\n", Count(sc.Dropped))
			}
			p("Duration:     %s\n", Ms(sc.Duration*1000))
			p("Ops/sec:      %.2f\n", sc.Rate)
			l := sc.Latency
			p("Latency:      avg %s, min %s, med %s, p90 %s, p95 %s, p99 %s, max %s\n", Ms(l.Avg), Ms(l.Min), Ms(l.Med), Ms(l.P90), Ms(l.P95), Ms(l.P99), Ms(l.Max))
			if sc.ArrivalRate() {
				s := sc.Service
				p("Service time: avg %s, med %s, p95 %s, p99 %s (latency counts from the scheduled start)\n", Ms(s.Avg), Ms(s.Med), Ms(s.P95), Ms(s.P99))
			}
			p("```\n")
			if len(sc.Checks) > 0 {
				p("\n| Check | Passes | Fails | Status |\n|---|---|---|---|\n")
				for _, c := range sc.Checks {
					p("| %s | %s | %s | %s |\n", mdEsc(c.Name), Count(c.Passes), Count(c.Fails), tick(c.Fails == 0))
				}
			}
			if len(sc.FirstErrors) > 0 {
				p("\n**Failure modes observed:**\n\n")
				for _, e := range sc.FirstErrors {
					p("- %s × `%s`: %s\n", Count(e.Count), e.Type, mdEsc(firstLine(e.Message)))
				}
				if sc.OtherErrors > 0 {
					p("- %s more, of other messages\n", Count(sc.OtherErrors))
				}
			} else {
				p("\n**Failure modes observed:** none\n")
			}
		}
	}

	if len(r.Thresholds) > 0 {
		p("\n## Acceptance criteria\n\n| Criterion | Target | Result | Status |\n|---|---|---|---|\n")
		var notes []string
		for _, t := range r.Thresholds {
			value := Value(t.Value, t.Unit)
			if t.Reason != "" {
				value = "no data"
				notes = append(notes, fmt.Sprintf("- `%s`: %s", t.Expr, mdEsc(t.Reason)))
			}
			if t.Warning != "" {
				notes = append(notes, fmt.Sprintf("- ⚠ `%s` on %s: %s", t.Expr, mdEsc(t.Metric), mdEsc(t.Warning)))
			}
			p("| %s | `%s` | %s | %s |\n", mdEsc(t.Metric), t.Expr, value, tick(t.Pass))
		}
		if len(notes) > 0 {
			p("\n%s\n", strings.Join(notes, "\n"))
		}
	}
	if len(r.Tools) > 0 {
		p("\n## Tools\n\n| Tool | Calls | Outcomes | avg | p95 | p99 |\n|---|---|---|---|---|---|\n")
		for _, t := range r.Tools {
			keys := make([]string, 0, len(t.Outcomes))
			for k := range t.Outcomes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var outs []string
			for _, k := range keys {
				outs = append(outs, fmt.Sprintf("%s %s", k, Count(t.Outcomes[k])))
			}
			p("| %s | %s | %s | %s | %s | %s |\n", t.Tool, Count(t.Calls), strings.Join(outs, ", "), Ms(t.Latency.Avg), Ms(t.Latency.P95), Ms(t.Latency.P99))
		}
	}
	if len(r.Dropped) > 0 {
		p("\n## Dropped metric values\n\n%s.\n\n| Metric | Samples dropped |\n|---|---|\n", strings.ToUpper(droppedTitle(r)[:1])+droppedTitle(r)[1:])
		for _, d := range r.Dropped {
			p("| %s | %s |\n", mdEsc(d.Metric), Count(d.Samples))
		}
	}
	for _, s := range r.Sections {
		p("\n## %s\n\n| | |\n|---|---|\n", s.Title)
		for _, row := range s.Rows {
			if len(row) > 0 {
				p("| %s | %s |\n", mdEsc(row[0]), mdEsc(strings.Join(row[1:], " ")))
			}
		}
	}
	if len(r.Faults) > 0 {
		p("\n## Fault rules\n\nSeed %d. Injected failures carry the error type `injected` and are counted apart from real ones.\n\n| Target | Rule | Calls | Hits | Active |\n|---|---|---|---|---|\n", r.Seed)
		for _, f := range r.Faults {
			p("| %s | %s | %s | %s | %s |\n", mdEsc(f.Target), mdEsc(f.Rule), Count(f.Calls), Count(f.Hits), tick(f.Active))
		}
	}
	writeMemory(&b, r)
	if len(r.Timeline) > 0 {
		p("\n## Throughput timeline\n\n| Time | Iterations/s | Tool calls/s | Errors/s | p95 | RSS |\n|---|---|---|---|---|---|\n")
		for _, pt := range thin(r.Timeline, 12) {
			p("| %.0fs | %.0f | %.0f | %.1f | %s | %s |\n", pt.T, pt.Iterations, pt.ToolCalls, pt.Errors, Ms(pt.P95), Bytes(float64(pt.RSS)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMemory(b *strings.Builder, r *result.Run) {
	m := r.Memory
	if len(m.Samples) == 0 {
		return
	}
	lk := m.Leak
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Memory\n\n| Metric | Value |\n|---|---|\n")
	p("| Baseline live heap | %s |\n| Final live heap | %s |\n| Live heap growth | %s |\n", Bytes(lk.StartHeap), Bytes(lk.EndHeap), Bytes(lk.HeapGrowth))
	p("| Baseline RSS | %s |\n| Peak RSS | %s |\n| Final RSS | %s |\n", Bytes(lk.StartRSS), Bytes(float64(m.Peak.RSS)), Bytes(lk.EndRSS))
	p("| Goroutine growth | %s |\n| Slope | %s |\n| Samples | %s |\n", goroutineChange(lk.GoroutineGrowth), slope(lk), Count(int64(lk.Samples)))
	if lk.Verdict != metrics.Insufficient {
		p("\n| Threshold | Growth | Result |\n|---|---|---|\n")
		p("| Leak | > %s | %s |\n", Bytes(float64(lk.FailBytes)), tick(lk.Verdict != metrics.Leak))
		p("| Moderate growth | %s to %s | %s |\n", Bytes(float64(lk.WarnBytes)), Bytes(float64(lk.FailBytes)), tick(lk.Verdict == metrics.NoLeak))
		p("| Normal growth | < %s | %s |\n", Bytes(float64(lk.WarnBytes)), tick(lk.Verdict == metrics.NoLeak))
	}
	p("\n**Verdict:** %s: %s\n", lk.Verdict, lk.Reason)
	p("\n### Memory timeline\n\n```\nTime      Live heap    RSS          Goroutines  Iterations\n")
	for _, s := range thinSamples(m.Samples, 12) {
		p("%-9s %-12s %-12s %-11s %s\n", fmt.Sprintf("%.0fs", s.At.Seconds()), Bytes(float64(s.HeapLive)), Bytes(float64(s.RSS)), Count(int64(s.Goroutines)), Count(s.Iterations))
	}
	p("```\n")
}

func scenarioOK(sc result.Scenario) bool {
	for _, t := range sc.Thresholds {
		if !t.Pass {
			return false
		}
	}
	for _, c := range sc.Checks {
		if c.Fails > 0 {
			return false
		}
	}
	return true
}

// thin keeps about n evenly spaced points, always the last.
func thin(pts []metrics.Point, n int) []metrics.Point {
	if len(pts) <= n {
		return pts
	}
	var out []metrics.Point
	step := float64(len(pts)-1) / float64(n-1)
	for i := range n {
		out = append(out, pts[int(float64(i)*step+0.5)])
	}
	return out
}

func thinSamples(ss []metrics.MemSample, n int) []metrics.MemSample {
	if len(ss) <= n {
		return ss
	}
	var out []metrics.MemSample
	step := float64(len(ss)-1) / float64(n-1)
	for i := range n {
		out = append(out, ss[int(float64(i)*step+0.5)])
	}
	return out
}

func mdEsc(s string) string { return tools.MarkdownCell(s) }
