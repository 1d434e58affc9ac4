package metrics

import (
	"math"
	"regexp"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Kind is a metric's kind, with k6's names and meanings.
type Kind int

// The kinds.
const (
	Counter Kind = iota // a sum: count and rate per second
	Gauge               // the last value, with min and max
	Rate                // the share of non-zero values
	Trend               // a distribution: avg, min, med, max, p(N)
)

func (k Kind) String() string {
	return [...]string{"counter", "gauge", "rate", "trend"}[k]
}

// Unit says how a metric's values read. Time values are milliseconds, as
// in k6; data values are bytes.
type Unit int

// The units.
const (
	None Unit = iota
	Time      // milliseconds
	Data      // bytes
)

// Def declares a metric.
type Def struct {
	Name string
	Kind Kind
	Unit Unit
}

var metricName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]{0,127}$`)

// Built-in metric names.
const (
	Iterations         = "iterations"
	IterationDuration  = "iteration_duration"
	IterationService   = "iteration_service_duration"
	IterationErrors    = "iteration_errors"
	IterationTimeouts  = "iteration_timeouts"
	DroppedIterations  = "dropped_iterations"
	VUs                = "vus"
	VUsMax             = "vus_max"
	ToolCalls          = "tool_calls"
	ToolDuration       = "tool_duration"
	Checks             = "checks"
	MemoryRSS          = "memory_rss"
	MemoryHeapLive     = "memory_heap_live"
	Goroutines         = "goroutines"
	MemoryGrowth       = "memory_growth"
	MemorySlope        = "memory_slope"
	TaskQueueDepth     = "task_queue_depth"
	TaskRunning        = "task_running"
	TaskQueueWait      = "task_queue_wait"
	TaskRunDuration    = "task_run_duration"
	TaskOutcomes       = "task_outcomes"
	TaskRetries        = "task_retries"
	TaskRateLimitWaits = "task_rate_limit_waits"
	InjectedFaults     = "injected_faults"
)

// Builtin lists the built-in metrics.
var Builtin = []Def{
	{Iterations, Counter, None},
	{IterationDuration, Trend, Time},
	{IterationService, Trend, Time},
	{IterationErrors, Counter, None},
	{IterationTimeouts, Counter, None},
	{DroppedIterations, Counter, None},
	{VUs, Gauge, None},
	{VUsMax, Gauge, None},
	{ToolCalls, Counter, None},
	{ToolDuration, Trend, Time},
	{Checks, Rate, None},
	{MemoryRSS, Gauge, Data},
	{MemoryHeapLive, Gauge, Data},
	{Goroutines, Gauge, None},
	{MemoryGrowth, Gauge, Data},
	{MemorySlope, Gauge, Data},
	{TaskQueueDepth, Gauge, None},
	{TaskRunning, Gauge, None},
	{TaskQueueWait, Trend, Time},
	{TaskRunDuration, Trend, Time},
	{TaskOutcomes, Counter, None},
	{TaskRetries, Counter, None},
	{TaskRateLimitWaits, Counter, None},
	{InjectedFaults, Counter, None},
}

// BuiltinDoc says what each built-in metric measures and how its values
// are tagged, for the reference.
var BuiltinDoc = map[string]string{
	Iterations:         "complete iterations (an iteration cut short by gracefulStop, the end of the run or abort() is not counted); tags: the scenario's",
	IterationDuration:  "the time of a complete iteration, ms; for the arrival-rate executors from its scheduled start, so a late start counts",
	IterationService:   "the time a complete iteration itself took, from when it really started, ms (differs from iteration_duration under the arrival-rate executors)",
	IterationErrors:    "iterations that raised an error; tags: the scenario's and type (the error type)",
	IterationTimeouts:  "iterations stopped by the scenario's timeout",
	DroppedIterations:  "iterations an arrival-rate executor could not start because every VU up to maxVUs was busy",
	VUs:                "VUs running iterations, sampled with memory (every 100ms by default)",
	VUsMax:             "VUs made so far",
	ToolCalls:          "tool calls made with Tool.invoke, Tool.try and by tasks; tags: tool, outcome (ok or the error type), and the scenario's or the task's",
	ToolDuration:       "the time of a tool call, ms; tagged as tool_calls",
	Checks:             "check results, 1 for a pass; tags: check (the name) and the scenario's, plus check's own tags",
	MemoryRSS:          "the process's resident memory, bytes",
	MemoryHeapLive:     "the live heap the last garbage collection found, bytes",
	Goroutines:         "the process's goroutines",
	MemoryGrowth:       "the leak verdict's live-heap growth between the start and end windows, bytes (recorded at the end)",
	MemorySlope:        "the leak verdict's fitted slope of the live heap, bytes per 1,000 iterations (per second without iterations)",
	TaskQueueDepth:     "tasks queued or retrying, at each submit",
	TaskRunning:        "tasks held by workers, at each attempt's start",
	TaskQueueWait:      "the time an attempt waited in the queue, ms; tags: the task's",
	TaskRunDuration:    "the time a task's attempts ran in all, ms, at its end; tags: the task's",
	TaskOutcomes:       "tasks that ended; tags: state (succeeded, failed, timed_out, cancelled) and the task's",
	TaskRetries:        "attempts that will be retried; tags: the task's",
	TaskRateLimitWaits: "times a worker waited for the task rate limit",
	InjectedFaults:     "reserved, not recorded yet: tool_calls{outcome:injected} counts the tool calls a fault rule failed",
}

// agg is a metric's aggregate over some span of time.
type agg struct {
	kind Kind
	// counter: sum and number of adds; rate: trues and total; gauge: last,
	// min and max; trend: all of the exact figures plus the histograms.
	count    int64
	sum      float64
	min, max float64
	last     float64
	trues    int64
	pos, neg *hdr.PackedHistogram
}

// Histogram geometry: values are stored as integers of a millionth of the
// metric's unit (nanoseconds for times), up to 1e12 units (31 years of
// milliseconds, a terabyte), to 3 significant digits (0.1% relative
// precision), so a 3.4µs iteration reads 3.4µs, not 3µs. Packed
// histograms store only the buckets in use.
const (
	scale    = 1e6
	hdrHigh  = 1e12 * scale
	hdrDigit = 3
)

func newAgg(k Kind) *agg {
	return &agg{kind: k, min: math.Inf(1), max: math.Inf(-1)}
}

func (a *agg) add(v float64) {
	a.count++
	switch a.kind {
	case Counter:
		a.sum += v
	case Gauge:
		a.last = v
		a.min = math.Min(a.min, v)
		a.max = math.Max(a.max, v)
	case Rate:
		if v != 0 {
			a.trues++
		}
	case Trend:
		a.sum += v
		a.min = math.Min(a.min, v)
		a.max = math.Max(a.max, v)
		h := &a.pos
		if v < 0 {
			h, v = &a.neg, -v
		}
		if *h == nil {
			*h = hdr.NewPacked(1, hdrHigh, hdrDigit)
		}
		iv := int64(math.Min(v*scale+0.5, hdrHigh))
		(*h).RecordValue(iv)
	}
}

// merge adds b into a.
func (a *agg) merge(b *agg) {
	if b.count == 0 {
		return
	}
	switch a.kind {
	case Gauge:
		a.last = b.last
	case Rate:
		a.trues += b.trues
	case Trend:
		for _, p := range []struct{ dst, src **hdr.PackedHistogram }{{&a.pos, &b.pos}, {&a.neg, &b.neg}} {
			if *p.src == nil {
				continue
			}
			if *p.dst == nil {
				*p.dst = hdr.NewPacked(1, hdrHigh, hdrDigit)
			}
			(*p.dst).Merge(*p.src)
		}
	}
	a.count += b.count
	a.sum += b.sum
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
}

func (a *agg) reset() {
	a.count, a.sum, a.trues, a.last = 0, 0, 0, 0
	a.min, a.max = math.Inf(1), math.Inf(-1)
	if a.pos != nil {
		a.pos.Reset()
	}
	if a.neg != nil {
		a.neg.Reset()
	}
}

// percentile returns the p-th percentile (0-100) of a trend.
func (a *agg) percentile(p float64) float64 {
	if a.count == 0 {
		return 0
	}
	var nneg, npos int64
	if a.neg != nil {
		nneg = a.neg.TotalCount()
	}
	if a.pos != nil {
		npos = a.pos.TotalCount()
	}
	total := nneg + npos
	if total == 0 {
		return 0
	}
	if p <= 0 {
		return a.min
	}
	if p >= 100 {
		return a.max
	}
	rank := int64(math.Ceil(p / 100 * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var v float64
	if rank <= nneg {
		// Negative values: rank 1 is the most negative.
		q := 100 * float64(nneg-rank+1) / float64(nneg)
		v = -float64(a.neg.ValueAtPercentile(q)) / scale
	} else {
		q := 100 * float64(rank-nneg) / float64(npos)
		v = float64(a.pos.ValueAtPercentile(q)) / scale
	}
	// The histogram answers with its bucket's upper edge; the exact
	// extremes bound it.
	return math.Max(a.min, math.Min(a.max, v))
}

// Stats are a metric's figures over a span: the figures that thresholds
// and reports use.
type Stats struct {
	Count int64   `json:"count"`
	Sum   float64 `json:"sum,omitempty"`
	// Rate: for a counter, per second of the span; for a rate metric, the
	// share of non-zero values.
	Rate  float64 `json:"rate"`
	Value float64 `json:"value,omitempty"` // gauge: last value
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Avg   float64 `json:"avg,omitempty"`
	Med   float64 `json:"med,omitempty"`
	P90   float64 `json:"p90,omitempty"`
	P95   float64 `json:"p95,omitempty"`
	P99   float64 `json:"p99,omitempty"`
	Trues int64   `json:"passes,omitempty"` // rate: non-zero values
	agg   *agg
}

// Total is what k6 calls a metric's count: for a counter, the sum of what
// was added (add(3) counts 3); for the other kinds, how many values.
func (s Stats) Total() float64 {
	if s.agg != nil && s.agg.kind == Counter {
		return s.Sum
	}
	return float64(s.Count)
}

// Percentile returns any percentile of a trend's stats.
func (s Stats) Percentile(p float64) float64 {
	if s.agg == nil {
		return 0
	}
	return s.agg.percentile(p)
}

func (a *agg) stats(seconds float64) Stats {
	s := Stats{Count: a.count, Sum: a.sum, agg: a}
	if a.count > 0 && (a.kind == Gauge || a.kind == Trend) {
		s.Min, s.Max = a.min, a.max
	}
	switch a.kind {
	case Counter:
		if seconds > 0 {
			s.Rate = a.sum / seconds
		}
	case Gauge:
		s.Value = a.last
	case Rate:
		s.Trues = a.trues
		if a.count > 0 {
			s.Rate = float64(a.trues) / float64(a.count)
		}
	case Trend:
		if a.count > 0 {
			s.Avg = a.sum / float64(a.count)
			s.Med = a.percentile(50)
			s.P90 = a.percentile(90)
			s.P95 = a.percentile(95)
			s.P99 = a.percentile(99)
		}
	}
	return s
}

// Merge combines the figures of several series of one metric kind (the
// windows of one second, say) into one.
func Merge(ss ...Stats) Stats {
	var sum *agg
	for _, s := range ss {
		if s.agg == nil {
			continue
		}
		if sum == nil {
			sum = newAgg(s.agg.kind)
		}
		sum.merge(s.agg)
	}
	if sum == nil {
		return Stats{}
	}
	return sum.stats(0)
}
