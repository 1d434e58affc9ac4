package scenario

import (
	"time"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/metrics"
)

// SummaryVersion is the version of the Result's JSON form (the
// --summary-json file). It changes only when a field changes meaning or
// disappears, or when a field that readers rely on becomes part of the
// promise; new fields may appear in any version. Version 2 promises the
// histogram ("hdr") of every trend series, which spellhost compare tests.
const SummaryVersion = 2

// Result is everything a run measured, for the summary and the reports.
type Result struct {
	Version  int       `json:"version"`
	Script   string    `json:"script"`
	Seed     uint64    `json:"seed"`
	Start    time.Time `json:"start"`
	Duration float64   `json:"duration_s"`
	// Status is passed, failed (a threshold), or the stop reason:
	// interrupted, timeout, memory_limit, aborted, error, internal_error
	// (a bug in spellhost: exit 109).
	Status     string `json:"status"`
	StopReason string `json:"stop_reason,omitempty"`
	// TopToBottom is set for a script without scenarios.
	TopToBottom bool              `json:"top_to_bottom,omitempty"`
	Scenarios   []ScenarioResult  `json:"scenarios"`
	Thresholds  []ThresholdResult `json:"thresholds"`
	Checks      []CheckResult     `json:"checks"`
	Tools       []ToolResult      `json:"tools"`
	Metrics     []MetricResult    `json:"metrics"`
	// MaxSeries is the run's cap on series per metric; Dropped counts, per
	// metric, the values that went to series over the caps.
	MaxSeries int               `json:"max_series_per_metric"`
	Dropped   []metrics.Dropped `json:"dropped_samples,omitempty"`
	Memory    MemoryResult      `json:"memory"`
	Timeline  []metrics.Point   `json:"timeline"`
	// Curves are the per-second chart curves: per scenario, per error
	// type, VUs and memory, bounded in length (the HTML report's charts).
	Curves *metrics.CurveSet `json:"curves,omitempty"`
	// RunOptions are the resolved options as spellhost inspect shows them.
	RunOptions map[string]any `json:"options,omitempty"`
	Kernel     kernel.Stats   `json:"kernel"`
	// Faults lists every fault rule of the run with its calls and hits.
	Faults   []fault.Info   `json:"faults,omitempty"`
	Sections []ExtraSection `json:"sections,omitempty"`
	// Options are the resolved options (for spellhost inspect).
	Options *Options `json:"-"`
}

// ExtraSection is a titled block of key/value lines that another part of
// the host (tasks, faults) adds to the report.
type ExtraSection struct {
	Title string     `json:"title"`
	Rows  [][]string `json:"rows"`
}

// ScenarioResult is one scenario's outcome.
type ScenarioResult struct {
	Name     string            `json:"name"`
	Executor string            `json:"executor"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Duration is how long the scenario ran, in seconds.
	Duration    float64 `json:"duration_s"`
	Iterations  int64   `json:"iterations"`
	Rate        float64 `json:"iterations_per_s"`
	Errors      int64   `json:"errors"`
	Timeouts    int64   `json:"timeouts"`
	Dropped     int64   `json:"dropped"`
	Interrupted int64   `json:"interrupted"`
	// SuccessRate is the share of iterations without error or timeout.
	SuccessRate  float64           `json:"success_rate"`
	Latency      metrics.Stats     `json:"latency_ms"`
	Service      metrics.Stats     `json:"service_ms"`
	ErrorsByType map[string]int64  `json:"errors_by_type,omitempty"`
	FirstErrors  []ErrorEntry      `json:"first_errors,omitempty"`
	OtherErrors  int64             `json:"other_errors,omitempty"`
	Checks       []CheckResult     `json:"checks,omitempty"`
	Thresholds   []ThresholdResult `json:"thresholds,omitempty"`
}

// ThresholdResult is one threshold's outcome.
type ThresholdResult struct {
	Metric string  `json:"metric"`
	Expr   string  `json:"threshold"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Pass   bool    `json:"pass"`
	NoData bool    `json:"no_data,omitempty"`
	// AbortedRun is set when this threshold's abortOnFail stopped the run.
	AbortedRun bool `json:"aborted_run,omitempty"`
}

// CheckResult is one named check.
type CheckResult struct {
	Name     string `json:"name"`
	Scenario string `json:"scenario,omitempty"`
	Passes   int64  `json:"passes"`
	Fails    int64  `json:"fails"`
}

// ToolResult is one tool's calls across the run.
type ToolResult struct {
	Tool     string           `json:"tool"`
	Calls    int64            `json:"calls"`
	Outcomes map[string]int64 `json:"outcomes"`
	Latency  metrics.Stats    `json:"latency_ms"`
}

// MetricResult is one series' totals.
type MetricResult struct {
	Name  string            `json:"name"`
	Tags  map[string]string `json:"tags,omitempty"`
	Kind  string            `json:"kind"`
	Unit  string            `json:"unit,omitempty"`
	Stats metrics.Stats     `json:"stats"`
	// Hist is a trend's distribution (summary version 2 on).
	Hist *metrics.Hist `json:"hdr,omitempty"`
}

// MemoryResult is the memory timeline and the leak verdict.
type MemoryResult struct {
	Samples []metrics.MemSample `json:"samples"`
	// Peak holds the highest figures seen; its RSS is the process's peak
	// resident memory when --max-memory is set.
	Peak metrics.MemSample `json:"peak"`
	// Limit is --max-memory in bytes (0: none).
	Limit uint64             `json:"limit,omitempty"`
	Leak  metrics.LeakReport `json:"leak"`
}

// Failed reports whether any threshold failed.
func (r *Result) Failed() bool {
	for _, t := range r.Thresholds {
		if !t.Pass {
			return true
		}
	}
	return false
}
