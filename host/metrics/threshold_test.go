package metrics_test

import (
	"math"
	"strings"
	"testing"

	"spellhost/host/metrics"
)

func TestParseThreshold(t *testing.T) {
	trend := &metrics.Def{Name: "tool_duration", Kind: metrics.Trend, Unit: metrics.Time}
	rate := &metrics.Def{Name: "checks", Kind: metrics.Rate}
	counter := &metrics.Def{Name: "iteration_errors", Kind: metrics.Counter}
	gauge := &metrics.Def{Name: "memory_growth", Kind: metrics.Gauge, Unit: metrics.Data}
	good := []struct {
		def        *metrics.Def
		expr       string
		agg, op    string
		limit, pct float64
	}{
		{trend, "p(95)<200", "p", "<", 200, 95},
		{trend, " p( 99.9 ) <= 1.5s ", "p", "<=", 1500, 99.9},
		{trend, "avg<5ms", "avg", "<", 5, 0},
		{trend, "med>=250us", "med", ">=", 0.25, 0},
		{trend, "max<1m", "max", "<", 60000, 0},
		{trend, "min>100ns", "min", ">", 0.0001, 0},
		{trend, "count>1e3", "count", ">", 1000, 0},
		{rate, "rate>0.99", "rate", ">", 0.99, 0},
		{rate, "rate===1", "rate", "==", 1, 0},
		{counter, "count<10", "count", "<", 10, 0},
		{counter, "rate!=0", "rate", "!=", 0, 0},
		{gauge, "value<20MB", "value", "<", 20e6, 0},
		{gauge, "value<20MiB", "value", "<", 20 << 20, 0},
		{gauge, "max<=1.5GB", "max", "<=", 1.5e9, 0},
	}
	for _, g := range good {
		th, err := metrics.ParseThreshold(metrics.Query{Metric: g.def.Name}, g.expr, g.def)
		if err != nil {
			t.Errorf("%s %q: %v", g.def.Name, g.expr, err)
			continue
		}
		if th.Agg != g.agg || th.Op != g.op || math.Abs(th.Limit-g.limit) > 1e-9*math.Max(1, g.limit) || th.Percentile != g.pct {
			t.Errorf("%q = %+v", g.expr, th)
		}
	}
	bad := []struct {
		def  *metrics.Def
		expr string
		msg  string
	}{
		{trend, "", "empty expression"},
		{trend, "p95<200", `unknown aggregation "p95"`},
		{trend, "p(101)<200", "N from 0 to 100"},
		{trend, "p(x)<1", "N from 0 to 100"},
		{trend, "<200", "missing aggregation"},
		{trend, "avg 200", "no comparison"},
		{trend, "avg<", "missing the value"},
		{trend, "avg<fast", `value "fast" is not a number`},
		{trend, "avg<5parsecs", `unit "parsecs"`},
		{trend, "value<5", "value does not apply to tool_duration, a trend"},
		{rate, "avg<5", "avg does not apply to checks, a rate"},
		{rate, "rate>90%", `unit "%" cannot apply to rate`},
		{counter, "p(95)<1", "p(N) does not apply to iteration_errors, a counter"},
		{counter, "count<5ms", `unit "ms" cannot apply to count`},
		{gauge, "value<20 parsecs", `unit "parsecs"`},
		{&metrics.Def{Name: "vus", Kind: metrics.Gauge}, "value<5s", "without units"},
	}
	for _, b := range bad {
		_, err := metrics.ParseThreshold(metrics.Query{Metric: b.def.Name}, b.expr, b.def)
		if err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%s %q: err %v, want %q", b.def.Name, b.expr, err, b.msg)
		}
		if err != nil && !strings.Contains(err.Error(), b.def.Name) {
			t.Errorf("%q: error %q does not name the metric", b.expr, err)
		}
	}
}

func TestEvaluateThresholds(t *testing.T) {
	st := metrics.NewStore()
	d, _ := st.Def(metrics.ToolDuration)
	c, _ := st.Def(metrics.Checks)
	for i := 1; i <= 100; i++ {
		st.Add(st.Series(d, "tool=calculator"), float64(i))
		st.Add(st.Series(d, "tool=slow"), float64(1000+i))
		st.Add(st.Series(c, ""), map[bool]float64{true: 1, false: 0}[i%10 != 0])
	}
	parse := func(q, e string) *metrics.Threshold {
		query, err := metrics.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		def, _ := st.Def(query.Metric)
		th, err := metrics.ParseThreshold(query, e, def)
		if err != nil {
			t.Fatal(err)
		}
		return th
	}
	ths := []*metrics.Threshold{
		parse("tool_duration{tool:calculator}", "p(95)<100"),
		parse("tool_duration", "p(95)<100"),
		parse("checks", "rate>0.95"),
		parse("checks", "rate>=0.9"),
		parse("tool_duration{tool:none}", "count==0"),
	}
	res := metrics.Evaluate(st, ths, 1)
	// A trend series with no value fails, even count==0: nothing was
	// measured, so nothing can be said to hold.
	want := []bool{true, false, false, true, false}
	for i, r := range res {
		if r.Pass != want[i] {
			t.Errorf("%s: value %v pass %v, want %v", r.Threshold.Name(), r.Value, r.Pass, want[i])
		}
	}
	if !res[4].NoData || !res[4].Missing {
		t.Error("a sub-metric without data is not marked NoData and Missing")
	}
	if want := "tool_duration{tool:none} received no value: the tag keys exist (tool) but no value had these values"; res[4].Reason != want {
		t.Errorf("reason %q, want %q", res[4].Reason, want)
	}
}

// TestThresholdMisspeltTag: a threshold whose tag key no value carried
// cannot pass silently. On a trend, rate or gauge it fails, naming the
// series and the tag keys the metric's values do carry; on a counter it
// is a measured zero, evaluated, and flagged.
func TestThresholdMisspeltTag(t *testing.T) {
	st := metrics.NewStore()
	checks, _ := st.Def(metrics.Checks)
	iters, _ := st.Def(metrics.Iterations)
	if _, err := st.Define("level", metrics.Gauge, metrics.None); err != nil {
		t.Fatal(err)
	}
	st.Add(st.Series(checks, metrics.Tags(map[string]string{"check": "ok", "scenario": "a", "team": "x"})), 1)
	st.Add(st.Series(iters, metrics.Tags(map[string]string{"scenario": "a", "team": "x"})), 3)
	ths := []*metrics.Threshold{}
	for _, c := range [][2]string{
		{"checks{teem:x}", "rate>0.9"},
		{"iterations{teem:x}", "count<10"},
		{"iterations{team:x}", "count==3"},
		{"level", "value<5"},
		{"level{a:b,c:d}", "max<5"},
	} {
		q, err := metrics.ParseQuery(c[0])
		if err != nil {
			t.Fatal(err)
		}
		def, _ := st.Def(q.Metric)
		th, err := metrics.ParseThreshold(q, c[1], def)
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	res := metrics.Evaluate(st, ths, 1)
	type want struct {
		pass, missing   bool
		reason, warning string
	}
	for i, w := range []want{
		{false, true, "checks{teem:x} received no value: no value of checks carried the tag key teem; its values carry check, scenario, team",
			"the tag key teem never appeared on checks (its values carry check, scenario, team)"},
		{true, false, "", "the tag key teem never appeared on iterations (its values carry scenario, team)"},
		{true, false, "", ""},
		{false, true, "level received no value: the gauge level was never recorded", ""},
		{false, true, "level{a:b,c:d} received no value: no value of level carried a tag at all, so none carried a, c",
			"the tag keys a, c never appeared on level (no value of level carried a tag)"},
	} {
		r := res[i]
		if r.Pass != w.pass || r.Missing != w.missing || r.Reason != w.reason || r.Warning != w.warning {
			t.Errorf("%s:\n got pass %v missing %v\n reason  %q\n warning %q\nwant pass %v missing %v\n reason  %q\n warning %q",
				r.Threshold.Name(), r.Pass, r.Missing, r.Reason, r.Warning, w.pass, w.missing, w.reason, w.warning)
		}
	}
}

// FuzzParseThreshold: no input panics, and an accepted threshold
// evaluates to a boolean on any stats.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p(95)<200", "rate>0.99", "avg<5ms", "value<20MB", "count===1", "p(", "<", "1e", "avg<1e+", "max<=5µs"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, expr string, kind uint8) {
		def := &metrics.Def{Name: "m", Kind: metrics.Kind(kind % 4), Unit: metrics.Unit(kind / 4 % 3)}
		th, err := metrics.ParseThreshold(metrics.Query{Metric: "m"}, expr, def)
		if err != nil {
			return
		}
		th.Pass(th.Value(metrics.Stats{Count: 1, Avg: 1, Min: 1, Max: 1}))
	})
}

func TestCounterCountIsTheSum(t *testing.T) {
	st := metrics.NewStore()
	def, err := st.Define("bytes_sent", metrics.Counter, metrics.None)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Series(def, "")
	st.Add(s, 3)
	st.Add(s, 4)
	q, _ := metrics.ParseQuery("bytes_sent")
	stats, _, _ := st.Stats(q, 1)
	th, err := metrics.ParseThreshold(q, "count==7", def)
	if err != nil {
		t.Fatal(err)
	}
	if v := th.Value(stats); v != 7 {
		t.Fatalf("count of a counter that saw add(3), add(4) is %v, want 7", v)
	}
}
