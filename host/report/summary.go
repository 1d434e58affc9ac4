// Package report renders what a run measured: the end-of-run summary on
// stdout, the versioned JSON summary (--summary-json), the per-second point
// stream (--out per-second=FILE), the k6-shaped exports (--summary-export,
// handleSummary's data), the Markdown report (--report FILE.md), the
// self-contained HTML report with charts (--report FILE.html), JUnit XML
// (--out junit=FILE) and the live dashboard (--dashboard).
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// Ms renders a duration given in milliseconds with a fitting unit.
func Ms(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "-"
	case ms == 0:
		return "0s"
	case math.Abs(ms) < 1:
		return trim(fmt.Sprintf("%.2fµs", ms*1000))
	case math.Abs(ms) < 1000:
		return trim(fmt.Sprintf("%.2fms", ms))
	case math.Abs(ms) < 60000:
		return trim(fmt.Sprintf("%.2fs", ms/1000))
	}
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Second).String()
}

func trim(s string) string {
	// 12.50ms -> 12.5ms, 3.00µs -> 3µs
	i := strings.IndexAny(s, "µms")
	num, unit := s[:i], s[i:]
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + unit
}

// Bytes renders a byte count.
func Bytes(b float64) string {
	if b < 0 {
		return "-" + humanize.IBytes(uint64(-b))
	}
	return humanize.IBytes(uint64(b))
}

// Count renders a count with thousands separators.
func Count(n int64) string { return humanize.Comma(n) }

// Rate renders a per-second figure.
func Rate(r float64) string {
	if r >= 100 {
		return humanize.Comma(int64(math.Round(r))) + "/s"
	}
	return fmt.Sprintf("%.2f/s", r)
}

// Value renders a threshold value in its metric's unit.
func Value(v float64, unit string) string {
	switch unit {
	case "ms":
		return Ms(v)
	case "bytes":
		return Bytes(v)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 || math.Abs(v) >= 100 && math.Abs(v) < 1e15 {
		return humanize.Comma(int64(math.Round(v)))
	}
	return fmt.Sprintf("%.4g", v)
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func dots(label string, width int) string {
	if len(label) >= width {
		return label + " "
	}
	return label + " " + strings.Repeat(".", width-len(label)-1) + " "
}

// WriteSummary writes the human summary of a run.
func WriteSummary(w io.Writer, r *result.Run) error {
	var b strings.Builder
	status := r.Status
	switch status {
	case "passed":
		status = "✓ passed"
	case "failed":
		status = "✗ thresholds failed"
	default:
		if r.StopReason != "" {
			status = "✗ " + status + ": " + r.StopReason
		}
	}
	fmt.Fprintf(&b, "\n  spellhost  %s  seed %d  %s  %s\n", r.Script, r.Seed, Ms(r.Duration*1000), status)
	for _, sc := range r.Scenarios {
		writeScenario(&b, sc)
	}
	if len(r.Tools) > 0 {
		b.WriteString("\n  tools\n")
		for _, t := range r.Tools {
			var outs []string
			keys := make([]string, 0, len(t.Outcomes))
			for k := range t.Outcomes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				outs = append(outs, fmt.Sprintf("%s %s", k, Count(t.Outcomes[k])))
			}
			fmt.Fprintf(&b, "    %s%s (%s)  avg %s  p95 %s  p99 %s\n", dots(t.Tool, 22), plural(t.Calls, "call", "calls"),
				strings.Join(outs, ", "), Ms(t.Latency.Avg), Ms(t.Latency.P95), Ms(t.Latency.P99))
		}
	}
	if r.TopToBottom && len(r.Checks) > 0 {
		b.WriteString("\n  checks\n")
		for _, c := range r.Checks {
			fmt.Fprintf(&b, "    %s %s  %s/%s\n", mark(c.Fails == 0), c.Name, Count(c.Passes), Count(c.Passes+c.Fails))
		}
	}
	writeTotals(&b, r)
	if len(r.Thresholds) > 0 {
		b.WriteString("\n  thresholds\n")
		for _, t := range r.Thresholds {
			value := "value " + Value(t.Value, t.Unit)
			note := ""
			if t.NoData {
				note = "  (no data)"
				if !t.Pass {
					value = "no data"
					note = ""
				}
			}
			if t.AbortedRun {
				note += "  (stopped the run)"
			}
			fmt.Fprintf(&b, "    %s %s: %s  (%s)%s\n", mark(t.Pass), t.Metric, t.Expr, value, note)
			if t.Reason != "" {
				fmt.Fprintf(&b, "        %s\n", t.Reason)
			}
			if t.Warning != "" {
				fmt.Fprintf(&b, "        ⚠ %s\n", t.Warning)
			}
		}
	}
	if len(r.Faults) > 0 {
		fmt.Fprintf(&b, "\n  faults (seed %d; injected failures have type injected)\n", r.Seed)
		for _, f := range r.Faults {
			state, verb := "", "held"
			if f.Active {
				state, verb = "  active", "holding"
			}
			extra := ""
			if f.LeakedBytes > 0 {
				extra += "  " + verb + " " + Bytes(float64(f.LeakedBytes))
			}
			if f.ParkedGoroutines > 0 {
				extra += "  " + verb + " " + plural(int64(f.ParkedGoroutines), "goroutine", "goroutines")
			}
			fmt.Fprintf(&b, "    %s%s / %s%s%s\n", dots(f.Target+"="+f.Rule, 40), plural(f.Hits, "hit", "hits"),
				plural(f.Calls, "call", "calls"), state, extra)
		}
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(&b, "\n  %s\n", droppedTitle(r))
		for _, d := range r.Dropped {
			fmt.Fprintf(&b, "    %s%s\n", dots(d.Metric, 22), plural(d.Samples, "value", "values"))
		}
	}
	if r.OutputDropped > 0 {
		fmt.Fprintf(&b, "\n  ⚠ --out json/csv: %s not written: the writer fell behind, and the files lack them\n",
			plural(r.OutputDropped, "value", "values"))
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n  %s\n", s.Title)
		for _, row := range s.Rows {
			if len(row) == 0 {
				continue
			}
			fmt.Fprintf(&b, "    %s%s\n", dots(row[0], 22), strings.Join(row[1:], "  "))
		}
	}
	m := r.Memory
	if len(m.Samples) > 0 {
		lk := m.Leak
		fmt.Fprintf(&b, "\n  memory  verdict: %s (%s)\n", lk.Verdict, lk.Reason)
		if lk.Verdict != metrics.Insufficient {
			fmt.Fprintf(&b, "    live heap %s → %s, rss %s → %s (peak %s), goroutines %s, slope %s\n",
				Bytes(lk.StartHeap), Bytes(lk.EndHeap), Bytes(lk.StartRSS), Bytes(lk.EndRSS), Bytes(float64(m.Peak.RSS)),
				goroutineChange(lk.GoroutineGrowth), slope(lk))
		} else {
			fmt.Fprintf(&b, "    peak rss %s, peak goroutines %s\n", Bytes(float64(m.Peak.RSS)), Count(int64(m.Peak.Goroutines)))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// writeScenario writes one scenario's block.
func writeScenario(b *strings.Builder, sc result.Scenario) {
	fmt.Fprintf(b, "\n  scenario %s (%s)\n", sc.Name, sc.Executor)
	fmt.Fprintf(b, "    %s%s  (%s over %s)  success %.2f%%\n", dots("iterations", 18), Count(sc.Iterations),
		Rate(sc.Rate), Ms(sc.Duration*1000), 100*sc.SuccessRate)
	l := sc.Latency
	if l.Count > 0 {
		fmt.Fprintf(b, "    %savg %s  min %s  med %s  p90 %s  p95 %s  p99 %s  max %s\n", dots("latency", 18),
			Ms(l.Avg), Ms(l.Min), Ms(l.Med), Ms(l.P90), Ms(l.P95), Ms(l.P99), Ms(l.Max))
		if sc.ArrivalRate() {
			s := sc.Service
			fmt.Fprintf(b, "    %savg %s  med %s  p95 %s  p99 %s  (latency above counts from the scheduled start)\n",
				dots("service time", 18), Ms(s.Avg), Ms(s.Med), Ms(s.P95), Ms(s.P99))
		}
	}
	var errs []string
	types := make([]string, 0, len(sc.ErrorsByType))
	for t := range sc.ErrorsByType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		errs = append(errs, fmt.Sprintf("%s %s", t, Count(sc.ErrorsByType[t])))
	}
	if sc.Timeouts > 0 {
		errs = append(errs, "iteration timeouts "+Count(sc.Timeouts))
	}
	if sc.Dropped > 0 {
		errs = append(errs, "dropped "+Count(sc.Dropped))
	}
	if sc.Interrupted > 0 {
		errs = append(errs, "interrupted "+Count(sc.Interrupted))
	}
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	fmt.Fprintf(b, "    %s%s\n", dots("errors", 18), strings.Join(errs, ", "))
	for i, e := range sc.FirstErrors {
		if i == 3 {
			more := len(sc.FirstErrors) - 3
			fmt.Fprintf(b, "      ... %d more distinct %s (see --summary-json)\n", more, map[bool]string{true: "error", false: "errors"}[more == 1])
			break
		}
		fmt.Fprintf(b, "      %s× %s\n", Count(e.Count), firstLine(e.Message))
	}
	if sc.Dropped > 0 && sc.ArrivalRate() {
		fmt.Fprintf(b, "    ⚠ %s\n", droppedWarning(sc))
	}
	for _, c := range sc.Checks {
		fmt.Fprintf(b, "    %s%s %s  %s/%s\n", dots("check", 18), mark(c.Fails == 0), c.Name, Count(c.Passes), Count(c.Passes+c.Fails))
	}
}

// writeTotals writes the metrics block: every metric over the whole run,
// each sub-metric a threshold names under its metric, as k6 shows them.
func writeTotals(b *strings.Builder, r *result.Run) {
	if len(r.Totals) == 0 {
		return
	}
	stats := r.TrendStats
	if len(stats) == 0 {
		stats = metrics.DefaultTrendStats
	}
	type line struct{ label, figures string }
	var lines []line
	subs := map[string][]result.Total{}
	var tops []result.Total
	for _, t := range r.Totals {
		if len(t.Tags) > 0 {
			subs[t.Metric] = append(subs[t.Metric], t)
		} else {
			tops = append(tops, t)
		}
	}
	for _, t := range tops {
		lines = append(lines, line{t.Name, totalFigures(t, stats)})
		for _, s := range subs[t.Metric] {
			lines = append(lines, line{"  { " + strings.TrimSuffix(strings.TrimPrefix(s.Name, s.Metric+"{"), "}") + " }", totalFigures(s, stats)})
		}
		delete(subs, t.Metric)
	}
	// Sub-metrics of a metric with no value at all.
	var rest []string
	for name := range subs {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		for _, s := range subs[name] {
			lines = append(lines, line{s.Name, totalFigures(s, stats)})
		}
	}
	width := 24
	for _, l := range lines {
		width = max(width, min(len(l.label)+4, 60))
	}
	b.WriteString("\n  metrics\n")
	for _, l := range lines {
		fmt.Fprintf(b, "    %s: %s\n", strings.TrimSuffix(dots(l.label, width), " "), l.figures)
	}
}

// droppedTitle heads the list of metrics that lost values to the caps.
func droppedTitle(r *result.Run) string {
	return fmt.Sprintf("metric values dropped: new series over %s per metric (--max-series) or %s in all",
		Count(int64(r.MaxSeries)), Count(metrics.MaxTotalSeries))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
