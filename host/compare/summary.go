// Package compare compares two runs from their summary JSON files
// (spellhost run --summary-json): per metric and series, the change in
// throughput, error rate and latency, with a statistical judgement of
// whether the change is real or within noise, and tolerances
// (--fail-on) that decide the exit code.
//
// Methods. Latency percentiles: a bootstrap of each percentile from the
// two stored HDR histograms (each resample's percentile is drawn exactly,
// as the order statistic at a Beta-distributed rank, from a seeded
// generator), giving a 95% interval of the change and a two-sided p-value.
// Averages: Welch's t-test, with the variances read from the histograms.
// Rates and error ratios: a two-proportion z-test, or Fisher's exact test
// when an expected count is below 5. Throughput and other counters: the
// Poisson rate test on the counts over each run's duration (conditional
// binomial: exact for small counts, normal otherwise). A change is real
// when p < alpha (0.05 by default). Gauges (memory, VUs) are shown, not
// tested.
package compare

import (
	"errors"
	"fmt"
	"os"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/metrics"
)

// The summary versions compare reads. Version 1 has no histograms: its
// percentiles are shown but not tested.
const (
	MinVersion = 1
	MaxVersion = 2
)

// ErrNotSummary is the cause of a file that is not a spellhost summary.
var ErrNotSummary = errors.New("not a spellhost summary")

// Summary is what compare reads from a summary JSON file.
type Summary struct {
	Path      string
	Version   int        `json:"version"`
	Script    string     `json:"script"`
	Start     string     `json:"start"`
	Duration  float64    `json:"duration_s"`
	Status    string     `json:"status"`
	Scenarios []Scenario `json:"scenarios"`
	Metrics   []Series   `json:"metrics"`
	Timeline  []Point    `json:"timeline"`
}

// Scenario is one scenario's totals.
type Scenario struct {
	Name       string  `json:"name"`
	Duration   float64 `json:"duration_s"`
	Iterations int64   `json:"iterations"`
	Errors     int64   `json:"errors"`
	Timeouts   int64   `json:"timeouts"`
}

// Series is one metric series' totals.
type Series struct {
	Name  string            `json:"name"`
	Tags  map[string]string `json:"tags"`
	Kind  string            `json:"kind"`
	Unit  string            `json:"unit"`
	Stats Stats             `json:"stats"`
	Hist  *metrics.Hist     `json:"hdr"`
}

// Stats are a series' figures as the summary writes them.
type Stats struct {
	Count  int64   `json:"count"`
	Sum    float64 `json:"sum"`
	Rate   float64 `json:"rate"`
	Value  float64 `json:"value"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Avg    float64 `json:"avg"`
	Med    float64 `json:"med"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	Passes int64   `json:"passes"`
}

// Point is one point of the run's timeline.
type Point struct {
	T          float64 `json:"t"`
	Iterations float64 `json:"iterations_per_s"`
	Errors     float64 `json:"errors_per_s"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	RSS        float64 `json:"rss"`
}

// Load reads a summary file and checks that it is one compare can read.
func Load(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	return Parse(path, b)
}

// Parse reads a summary from its JSON.
func Parse(path string, b []byte) (*Summary, error) {
	var probe map[string]jsontext.Value
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("compare: %s: %w: the file is not a JSON object (%v)", path, ErrNotSummary, err)
	}
	for _, field := range []string{"version", "script", "metrics", "scenarios"} {
		if _, ok := probe[field]; !ok {
			return nil, fmt.Errorf("compare: %s: %w: it has no %q field (write one with spellhost run --summary-json)", path, ErrNotSummary, field)
		}
	}
	s := &Summary{Path: path}
	if err := json.Unmarshal(b, s, json.RejectUnknownMembers(false)); err != nil {
		return nil, fmt.Errorf("compare: %s: %w: %v", path, ErrNotSummary, err)
	}
	switch {
	case s.Version > MaxVersion:
		return nil, fmt.Errorf("compare: %s: summary version %d is newer than this spellhost reads (%d to %d); compare with the spellhost that wrote it", path, s.Version, MinVersion, MaxVersion)
	case s.Version < MinVersion:
		return nil, fmt.Errorf("compare: %s: %w: version %d", path, ErrNotSummary, s.Version)
	}
	for i, m := range s.Metrics {
		if m.Name == "" || m.Kind == "" {
			return nil, fmt.Errorf("compare: %s: %w: metric %d has no name or kind", path, ErrNotSummary, i)
		}
	}
	return s, nil
}
