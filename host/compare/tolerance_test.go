package compare_test

import (
	"errors"
	"strings"
	"testing"

	"spellhost/host/compare"
)

func TestParseTolerances(t *testing.T) {
	tols, err := compare.ParseTolerances(" p(95)+10% , error_rate+0.5pp,throughput-5%,tool_duration{tool:http_request,outcome:ok}:p(99.9)+20ms,checks:rate-1pp,avg+1.5s,max+300us")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		query, stat string
		sign        int
		amount      float64
		unit        string
	}{
		{"iteration_duration", "p(95)", 1, 10, "%"},
		{"iterations", "error_rate", 1, 0.5, "pp"},
		{"iterations", "throughput", -1, 5, "%"},
		{"tool_duration{outcome:ok,tool:http_request}", "p(99.9)", 1, 20, "ms"},
		{"checks", "rate", -1, 1, "pp"},
		{"iteration_duration", "avg", 1, 1.5, "s"},
		{"iteration_duration", "max", 1, 300, "us"},
	}
	if len(tols) != len(want) {
		t.Fatalf("%d rules: %+v", len(tols), tols)
	}
	for i, w := range want {
		g := tols[i]
		if g.Query.String() != w.query || g.Stat != w.stat || g.Sign != w.sign || g.Amount != w.amount || g.Unit != w.unit {
			t.Errorf("rule %d: %+v, want %+v", i, g, w)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "empty"},
		{"p(95)+10%,,avg+1%", "empty rule"},
		{"p95+10%", "want [METRIC:]STAT+N%"},
		{"p(95)10%", "want [METRIC:]STAT+N%"},
		{"p(95)+ten%", "want [METRIC:]STAT+N%"},
		{"p(95)+10%%", "want [METRIC:]STAT+N%"},
		{"p(100)+10%", "want p(N) with 0 < N < 100"},
		{"p(0)+10%", "want p(N) with 0 < N < 100"},
		{"rate-1pp", "rate needs a metric"},
		{"count+5", "count needs a metric"},
		{"p(95)+1pp", "pp (percentage points) applies to error_rate and rate"},
		{"throughput-5ms", "ms is a time; throughput is not a latency stat"},
		{":p(95)+10%", "nothing before ':'"},
		{"bad name:p(95)+1%", "is not a metric name"},
		{"x{a}:p(95)+1%", "want key:value"},
		{"x{a:b:p(95)+1%", "missing '}'"},
		{"p(95)+10% extra", "want [METRIC:]STAT+N%"},
	} {
		_, err := compare.ParseTolerances(c.in)
		if err == nil || !errors.Is(err, compare.ErrTolerance) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v; want %q", c.in, err, c.msg)
		}
	}
}

func FuzzParseTolerances(f *testing.F) {
	for _, s := range []string{"p(95)+10%", "error_rate+0.5pp,throughput-5%", "tool_duration{tool:a,b:c}:p(99.9)+20ms",
		"checks:rate-1pp", "{}:,", "x{:}:p(1)+1", "((((", "}}}:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tols, err := compare.ParseTolerances(s)
		if err != nil {
			if !errors.Is(err, compare.ErrTolerance) {
				t.Fatalf("%q: error without ErrTolerance: %v", s, err)
			}
			return
		}
		for _, tol := range tols {
			if tol.Query.Metric == "" || tol.Stat == "" || (tol.Sign != 1 && tol.Sign != -1) || tol.Amount < 0 {
				t.Fatalf("%q: accepted a rule without its parts: %+v", s, tol)
			}
			// A parsed rule parses again to the same rule.
			again, err := compare.ParseTolerances(tol.Source)
			if err != nil || len(again) != 1 || again[0].Stat != tol.Stat || again[0].Query.String() != tol.Query.String() {
				t.Fatalf("%q: %q does not parse again: %v %+v", s, tol.Source, err, again)
			}
		}
	})
}
