// Package result holds what a run measured, as the summary, the reports
// and the --summary-json file read it: the run, its scenarios,
// thresholds, checks, tools, metrics and memory. host/scenario fills a
// Run; host/report and host/compare read one without compiling the Lua
// VM or the kernel. The package depends on host/metrics only.
package result

import (
	"time"

	"spellhost/host/metrics"
)

// Version is the version of the Run's JSON form (the --summary-json
// file). It changes only when a field changes meaning or disappears, or
// when a field that readers rely on becomes part of the promise; new
// fields may appear in any version. Version 2 promises the histogram
// ("hdr") of every trend series, which spellhost compare tests.
const Version = 2

// Run is everything a run measured, for the summary and the reports.
type Run struct {
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
	TopToBottom bool        `json:"top_to_bottom,omitempty"`
	Scenarios   []Scenario  `json:"scenarios"`
	Thresholds  []Threshold `json:"thresholds"`
	Checks      []Check     `json:"checks"`
	Tools       []Tool      `json:"tools"`
	Metrics     []Metric    `json:"metrics"`
	// Totals are every metric with a value, and every sub-metric a
	// threshold names, over the whole run, in k6's summary figures; the
	// trends' figures are TrendStats (--summary-trend-stats).
	Totals     []Total  `json:"totals,omitempty"`
	TrendStats []string `json:"summary_trend_stats,omitempty"`
	// MaxSeries is the run's cap on series per metric; Dropped counts, per
	// metric, the values that went to series over the caps.
	MaxSeries int               `json:"max_series_per_metric"`
	Dropped   []metrics.Dropped `json:"dropped_samples,omitempty"`
	// OutputDropped counts the values the raw-sample outputs (--out json,
	// csv) did not write because their writer fell behind.
	OutputDropped int64           `json:"output_dropped_samples,omitzero"`
	Memory        Memory          `json:"memory"`
	Timeline      []metrics.Point `json:"timeline"`
	// Curves are the per-second chart curves: per scenario, per error
	// type, VUs and memory, bounded in length (the HTML report's charts).
	// Their names are the Curve constants.
	Curves *metrics.CurveSet `json:"curves,omitempty"`
	// RunOptions are the resolved options as spellhost inspect shows them.
	RunOptions map[string]any `json:"options,omitempty"`
	Kernel     Kernel         `json:"kernel"`
	// Faults lists every fault rule of the run with its calls and hits.
	Faults   []Fault   `json:"faults,omitempty"`
	Sections []Section `json:"sections,omitempty"`
	// HandleSummary is set when the script defines handleSummary.
	HandleSummary *HandleSummary `json:"-"`
}

// Total is one metric, or one sub-metric a threshold names, over the
// whole run.
type Total struct {
	// Name is the metric's, or for a sub-metric metric{k:v,...}.
	Name   string            `json:"name"`
	Metric string            `json:"metric"`
	Tags   map[string]string `json:"tags,omitempty"`
	Kind   string            `json:"kind"`
	// Contains is "time" (milliseconds), "data" (bytes) or "default".
	Contains string `json:"contains"`
	// Values are k6's figures: count and rate of a counter; value, min
	// and max of a gauge; rate, passes and fails of a rate; a trend's
	// TrendStats (none when it has no value).
	Values map[string]float64 `json:"values"`
	// Count is how many values the series received.
	Count int64 `json:"count"`
}

// HandleSummary is what the script's handleSummary(data) returned: its
// outputs, in order (stdout, stderr, then files by name), or why it
// failed. It is not part of the summary JSON.
type HandleSummary struct {
	Outputs []SummaryOutput
	Err     string
}

// SummaryOutput is one output of handleSummary: "stdout", "stderr" or a
// file name, and its text.
type SummaryOutput struct {
	Name, Text string
}

// Failed reports whether any threshold failed.
func (r *Run) Failed() bool {
	for _, t := range r.Thresholds {
		if !t.Pass {
			return true
		}
	}
	return false
}

// Section is a titled block of key/value lines that another part of the
// host (tasks, faults) adds to the report.
type Section struct {
	Title string     `json:"title"`
	Rows  [][]string `json:"rows"`
}

// Scenario is one scenario's outcome.
type Scenario struct {
	Name string `json:"name"`
	// Executor is one of the executor names (SharedIterations, ...).
	Executor string            `json:"executor"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Duration is how long the scenario ran, in seconds.
	Duration   float64 `json:"duration_s"`
	Iterations int64   `json:"iterations"`
	Rate       float64 `json:"iterations_per_s"`
	Errors     int64   `json:"errors"`
	Timeouts   int64   `json:"timeouts"`
	Dropped    int64   `json:"dropped"`
	// Interrupted counts iterations cut short (gracefulStop, the end of
	// the run, abort): not in Iterations, and not successes.
	Interrupted int64 `json:"interrupted"`
	// MaxVUs is an arrival-rate scenario's maxVUs: when all were busy,
	// iterations were dropped.
	MaxVUs int `json:"max_vus,omitzero"`
	// SuccessRate is the share of the iterations started (Iterations and
	// Interrupted) that ended without error, timeout or interruption.
	SuccessRate  float64          `json:"success_rate"`
	Latency      metrics.Stats    `json:"latency_ms"`
	Service      metrics.Stats    `json:"service_ms"`
	ErrorsByType map[string]int64 `json:"errors_by_type,omitempty"`
	FirstErrors  []ErrorEntry     `json:"first_errors,omitempty"`
	OtherErrors  int64            `json:"other_errors,omitempty"`
	Checks       []Check          `json:"checks,omitempty"`
	Thresholds   []Threshold      `json:"thresholds,omitempty"`
}

// ArrivalRate reports whether the scenario's executor starts iterations
// at a rate: its latency counts from each iteration's scheduled start,
// and Service holds the time the iterations themselves took.
func (s *Scenario) ArrivalRate() bool {
	return s.Executor == ConstantArrivalRate || s.Executor == RampingArrivalRate
}

// ErrorEntry is one distinct error message of a scenario.
type ErrorEntry struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// Threshold is one threshold's outcome.
type Threshold struct {
	Metric string  `json:"metric"`
	Expr   string  `json:"threshold"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Pass   bool    `json:"pass"`
	// NoData: the series saw no value. A counter's threshold is then
	// compared with zero; any other fails, and Reason says why, naming
	// the tag keys the metric's values carry.
	NoData bool   `json:"no_data,omitempty"`
	Reason string `json:"reason,omitempty"`
	// UnknownTagKeys are tag keys the threshold names that no value of
	// its metric carried: most likely a misspelt tag; Warning says so.
	UnknownTagKeys []string `json:"unknown_tag_keys,omitempty"`
	Warning        string   `json:"warning,omitempty"`
	// AbortedRun is set when this threshold's abortOnFail stopped the run.
	AbortedRun bool `json:"aborted_run,omitempty"`
}

// Check is one named check.
type Check struct {
	Name     string `json:"name"`
	Scenario string `json:"scenario,omitempty"`
	Passes   int64  `json:"passes"`
	Fails    int64  `json:"fails"`
}

// Tool is one tool's calls across the run.
type Tool struct {
	Tool     string           `json:"tool"`
	Calls    int64            `json:"calls"`
	Outcomes map[string]int64 `json:"outcomes"`
	Latency  metrics.Stats    `json:"latency_ms"`
}

// Metric is one series' totals.
type Metric struct {
	Name  string            `json:"name"`
	Tags  map[string]string `json:"tags,omitempty"`
	Kind  string            `json:"kind"`
	Unit  string            `json:"unit,omitempty"`
	Stats metrics.Stats     `json:"stats"`
	// Hist is a trend's distribution (summary version 2 on).
	Hist *metrics.Hist `json:"hdr,omitempty"`
}

// Memory is the memory timeline and the leak verdict.
type Memory struct {
	Samples []metrics.MemSample `json:"samples"`
	// Peak holds the highest figures seen; its RSS is the process's peak
	// resident memory when --max-memory is set.
	Peak metrics.MemSample `json:"peak"`
	// Limit is --max-memory in bytes (0: none).
	Limit uint64             `json:"limit,omitempty"`
	Leak  metrics.LeakReport `json:"leak"`
}

// Kernel is the kernel's counters at the end of the run (the fields of
// kernel.Stats, which converts to it).
type Kernel struct {
	Tools     int   `json:"tools"`
	Running   int64 `json:"running"`
	Abandoned int64 `json:"abandoned"`
	Calls     int64 `json:"calls"`
	Panics    int64 `json:"panics"`
}

// Fault is one fault rule of the run with its calls and hits (the fields
// of fault.Info, which converts to it).
type Fault struct {
	Target string `json:"target"`
	Rule   string `json:"rule"`
	// Calls is how many calls the rule saw; Hits how many times it fired,
	// in total and per term.
	Calls    int64   `json:"calls"`
	Hits     int64   `json:"hits"`
	TermHits []int64 `json:"term_hits"`
	// Active is false once the rule's chain ran out or its duration passed.
	Active bool `json:"active"`
	// LeakedBytes and ParkedGoroutines are what leak terms hold.
	LeakedBytes      int64 `json:"leaked_bytes,omitempty"`
	ParkedGoroutines int   `json:"parked_goroutines,omitempty"`
}

// Executor names, as in k6: the values of Scenario.Executor.
const (
	SharedIterations    = "shared-iterations"
	PerVUIterations     = "per-vu-iterations"
	ConstantVUs         = "constant-vus"
	RampingVUs          = "ramping-vus"
	ConstantArrivalRate = "constant-arrival-rate"
	RampingArrivalRate  = "ramping-arrival-rate"
)

// Curve names: the measures a run's chart curves (Run.Curves) hold.
// Per-scenario curves carry the tag scenario, error curves the tag type.
const (
	CurveIterations = "iterations"         // per second, per scenario
	CurveDropped    = "dropped_iterations" // per second, per arrival-rate scenario
	CurveErrors     = "errors"             // per second, per error type (timeouts: type iteration_timeout)
	CurveToolCalls  = "tool_calls"         // per second, all tools
	CurveP50        = "iteration_duration.p50"
	CurveP90        = "iteration_duration.p90"
	CurveP99        = "iteration_duration.p99"
	CurveMax        = "iteration_duration.max"
	CurveVUs        = "vus"
	CurveRSS        = "memory_rss"
	CurveHeapLive   = "memory_heap_live"
	CurveGoroutines = "goroutines"
)
