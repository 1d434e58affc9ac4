package scenario

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/result"
	lualib "spellhost/lua"
	"spellhost/tools/perm"
)

type liveRecorder struct {
	mu      sync.Mutex
	samples []metrics.CurveSample
}

func (l *liveRecorder) Second(s metrics.CurveSample) {
	l.mu.Lock()
	l.samples = append(l.samples, s)
	l.mu.Unlock()
}

var _ LiveSink = (*liveRecorder)(nil)

// A run's result carries its chart curves, the live sink sees the same
// seconds, and every trend series carries its histogram.
func TestCurvesAndLiveSink(t *testing.T) {
	src := `
options = {scenarios = {
  paced = {executor = "constant-arrival-rate", rate = 50, timeUnit = "1s", duration = "2500ms", preAllocatedVUs = 2},
}}
local n = 0
function default()
  n = n + 1
  if n % 10 == 0 then error("every tenth fails") end
  Tool.invoke("calculator", {input = "1+1"})
end`
	dir := t.TempDir()
	path := filepath.Join(dir, "curves.lua")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	live := &liveRecorder{}
	var out, errb bytes.Buffer
	res, err := Run(context.Background(), Config{Script: path, Perm: p, Registry: builtinTools(p), Seed: 1, Lib: lualib.FS,
		Stdout: &out, Stderr: &errb, Timeout: 60 * time.Second, Charts: live})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	cs := res.Curves
	if cs == nil || len(cs.T) < 2 {
		t.Fatalf("curves %+v", cs)
	}
	live.mu.Lock()
	got := len(live.samples)
	live.mu.Unlock()
	// The run's last tick may be a sliver that joins the previous point.
	if got != len(cs.T) && got != len(cs.T)+1 {
		t.Errorf("the live sink saw %d seconds, the result holds %d points", got, len(cs.T))
	}
	for _, want := range []struct{ name, tags string }{
		{result.CurveIterations, "scenario=paced"}, {result.CurveDropped, "scenario=paced"}, {result.CurveP50, "scenario=paced"},
		{result.CurveP99, "scenario=paced"}, {result.CurveMax, "scenario=paced"}, {result.CurveErrors, "type=script_error"},
		{result.CurveToolCalls, ""}, {result.CurveVUs, ""}, {result.CurveRSS, ""}, {result.CurveHeapLive, ""}, {result.CurveGoroutines, ""},
	} {
		c := cs.Find(want.name, want.tags)
		if c == nil {
			t.Errorf("no curve %s{%s}", want.name, want.tags)
			continue
		}
		if len(c.Mean) != len(cs.T) {
			t.Errorf("%s: %d values for %d points", want.name, len(c.Mean), len(cs.T))
		}
	}
	var iters, errs float64
	for i := range cs.T {
		iters += cs.Find(result.CurveIterations, "scenario=paced").Mean[i] * cs.Span[i]
		errs += cs.Find(result.CurveErrors, "type=script_error").Mean[i] * cs.Span[i]
	}
	sc := scenarioByName(res, "paced")
	if int64(iters+0.5) != sc.Iterations || int64(errs+0.5) != sc.Errors {
		t.Errorf("curves count %.1f iterations and %.1f errors; the scenario %d and %d", iters, errs, sc.Iterations, sc.Errors)
	}
	if res.RunOptions == nil || res.RunOptions["scenarios"] == nil {
		t.Errorf("options missing from the result: %v", res.RunOptions)
	}
	var hists int
	for _, m := range res.Metrics {
		if m.Kind == "trend" && m.Stats.Count > 0 {
			if m.Hist == nil {
				t.Errorf("trend %s%v has no histogram", m.Name, m.Tags)
			}
			hists++
		} else if m.Hist != nil {
			t.Errorf("%s %s has a histogram", m.Kind, m.Name)
		}
	}
	if hists == 0 {
		t.Error("no trend series")
	}
}
