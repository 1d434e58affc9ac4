package scenario

import (
	"testing"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// TestTagsReachEveryMetric: the global tags (options.tags, Config.Tags)
// reach every metric family; a scenario's tags reach every value its VUs
// record, built-in or custom; a task's tags reach the task_* metrics and
// the tool calls made inside the task, fn or tool.
func TestTagsReachEveryMetric(t *testing.T) {
	res, code, _ := runScriptWith(t, "tags.lua", Overrides{}, func(c *Config) {
		c.Tags = map[string]string{"run": "r1", "env": "cli wins"}
	})
	if code != 0 {
		for _, th := range res.Thresholds {
			t.Logf("threshold %s %s: %v (value %v)", th.Metric, th.Expr, th.Pass, th.Value)
		}
		t.Fatalf("exit %d; tool_calls:\n%s", code, seriesOf(res, metrics.ToolCalls))
	}
	// has reports whether some series of metric carries every tag of want.
	has := func(metric string, want map[string]string) bool {
		for _, m := range res.Metrics {
			if m.Name != metric {
				continue
			}
			ok := true
			for k, v := range want {
				if m.Tags[k] != v {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	global := map[string]string{"run": "r1", "env": "cli wins"}
	scen := map[string]string{"run": "r1", "env": "cli wins", "team": "x", "scenario": "tagged"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		metric string
		tags   map[string]string
	}{
		{metrics.Iterations, scen},
		{metrics.IterationDuration, scen},
		{metrics.IterationService, scen},
		{metrics.Checks, with(scen, "check", "alpha, beta")},
		{metrics.Checks, with(scen, "check", "extra", "kind", "extra")},
		{metrics.Checks, with(global, "check", "in task", "job", "fn")},
		{"c", scen},
		{"tr", with(scen, "name", "op")},
		{metrics.ToolCalls, with(scen, "tool", "calculator", "outcome", "ok")},
		{metrics.ToolDuration, with(scen, "tool", "calculator", "outcome", "ok")},
		{metrics.ToolCalls, with(global, "tool", "calculator", "job", "tool")},
		{metrics.ToolDuration, with(global, "tool", "calculator", "job", "fn")},
		{metrics.TaskQueueWait, with(global, "job", "fn")},
		{metrics.TaskRunDuration, with(global, "job", "tool")},
		{metrics.TaskOutcomes, with(global, "job", "tool", "state", "succeeded")},
		{metrics.TaskQueueDepth, global},
		{metrics.TaskRunning, global},
		{metrics.VUs, global},
		{metrics.VUsMax, global},
		{metrics.MemoryRSS, global},
		{metrics.MemoryHeapLive, global},
		{metrics.Goroutines, global},
	} {
		if !has(c.metric, c.tags) {
			t.Errorf("no series of %s with the tags %v; the run has:\n%s", c.metric, c.tags, seriesOf(res, c.metric))
		}
	}
	for _, th := range res.Thresholds {
		if !th.Pass || th.NoData {
			t.Errorf("threshold %s %s: pass %v, no data %v, value %v", th.Metric, th.Expr, th.Pass, th.NoData, th.Value)
		}
	}
	var check *result.Check
	for i := range res.Checks {
		if res.Checks[i].Name == "alpha, beta" {
			check = &res.Checks[i]
		}
	}
	if check == nil || check.Passes != 4 {
		t.Fatalf("the check named \"alpha, beta\": %+v (checks %+v)", check, res.Checks)
	}
}

func seriesOf(res *result.Run, metric string) string {
	out := ""
	for _, m := range res.Metrics {
		if m.Name == metric {
			out += "  " + metrics.Query{Metric: m.Name, Tags: m.Tags}.String() + "\n"
		}
	}
	return out
}
