package compare_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/report/browsertest"
	"spellhost/host/result"
)

var update = flag.Bool("update", false, "rewrite the fixture summaries in testdata/")

func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		if err := writeFixtures(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	browsertest.CloseShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// shape is what a fixture run measured.
type shape struct {
	seed       uint64
	seconds    float64
	iterations int
	errorRate  float64 // share of iterations that fail
	latency    float64 // mean of the exponential part of the latency, ms
	checkFail  float64
}

// fixtures are the summaries the tests compare: a base, a run of the
// same system (other seed), a real regression, and a small run.
var fixtures = map[string]shape{
	"base":      {seed: 1, seconds: 60, iterations: 30000, errorRate: 0.01, latency: 10, checkFail: 0.002},
	"noise":     {seed: 2, seconds: 60, iterations: 30000, errorRate: 0.01, latency: 10, checkFail: 0.002},
	"regressed": {seed: 3, seconds: 60, iterations: 25500, errorRate: 0.03, latency: 12.5, checkFail: 0.02},
	"small":     {seed: 4, seconds: 5, iterations: 40, errorRate: 0.05, latency: 13, checkFail: 0},
}

// summary runs the shape through the real metrics store and writes it
// with the real summary writer.
func summary(s shape) ([]byte, error) {
	rng := rand.New(rand.NewPCG(s.seed, 99))
	st := metrics.NewStore()
	def := func(name string) *metrics.Def { d, _ := st.Def(name); return d }
	sc := "scenario=load"
	iters := st.Series(def(metrics.Iterations), sc)
	errs := st.Series(def(metrics.IterationErrors), "scenario=load,type=execution_error")
	dur := st.Series(def(metrics.IterationDuration), sc)
	checks := st.Series(def(metrics.Checks), "check=ok,scenario=load")
	toolA := st.Series(def(metrics.ToolDuration), "outcome=ok,scenario=load,tool=calculator")
	toolB := st.Series(def(metrics.ToolDuration), "outcome=ok,scenario=load,tool=hash_generator")
	calls := st.Series(def(metrics.ToolCalls), "outcome=ok,scenario=load,tool=calculator")
	vus := st.Series(def(metrics.VUs), "")
	var timeline []metrics.Point
	per := float64(s.iterations) / s.seconds
	var nerr int64
	for i := range s.iterations {
		st.Add(iters, 1)
		v := 2 + rng.ExpFloat64()*s.latency
		st.Add(dur, v)
		st.Add(toolA, v/3)
		st.Add(toolB, 0.5+rng.Float64())
		st.Add(calls, 1)
		ok := 1.0
		if rng.Float64() < s.checkFail {
			ok = 0
		}
		st.Add(checks, ok)
		if rng.Float64() < s.errorRate {
			st.Add(errs, 1)
			nerr++
		}
		if sec := float64(i+1) / per; sec == float64(int(sec)) {
			timeline = append(timeline, metrics.Point{T: sec, Iterations: per, Errors: s.errorRate * per,
				P95: 2 + 3*s.latency + rng.Float64(), P99: 2 + 4.6*s.latency + rng.Float64(), RSS: uint64(50e6 + 1e5*sec)})
		}
	}
	st.Add(vus, 8)
	res := &result.Run{Version: result.Version, Script: "load.lua", Seed: s.seed,
		Start: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Duration: s.seconds, Status: "passed", Timeline: timeline,
		Scenarios: []result.Scenario{{Name: "load", Executor: result.ConstantVUs, Duration: s.seconds,
			Iterations: int64(s.iterations), Errors: nerr}}}
	for _, w := range st.All(s.seconds) {
		res.Metrics = append(res.Metrics, result.Metric{Name: w.Series.Def.Name, Tags: w.Series.TagMap(),
			Kind: w.Series.Def.Kind.String(), Unit: map[metrics.Unit]string{metrics.Time: "ms", metrics.Data: "bytes"}[w.Series.Def.Unit],
			Stats: w.Stats, Hist: w.Stats.Hist()})
	}
	var b bytes.Buffer
	err := report.WriteSummaryJSON(&b, res)
	return b.Bytes(), err
}

func writeFixtures() error {
	for name, s := range fixtures {
		b, err := summary(s)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join("testdata", name+".json"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fixturePath(name string) string { return filepath.Join("testdata", name+".json") }

// The committed fixtures are what the generator writes.
func TestFixturesAreCurrent(t *testing.T) {
	for name, s := range fixtures {
		want, err := summary(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(fixturePath(name))
		if err != nil {
			t.Fatalf("%v (run go test ./host/compare -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s.json is stale: run go test ./host/compare -update", name)
		}
	}
}
