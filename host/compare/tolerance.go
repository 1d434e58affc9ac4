package compare

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"spellhost/host/metrics"
)

// Tolerance is one --fail-on rule: how far a stat may move before a real
// change fails the comparison. The grammar:
//
//	rules  = rule { "," rule }
//	rule   = [ query ":" ] stat ( "+" | "-" ) number [ unit ]
//	query  = metric [ "{" key ":" value { "," key ":" value } "}" ]
//	stat   = avg | min | med | max | p(N) | rate | count | throughput | error_rate
//	unit   = "%" | "pp" | "ms" | "s" | "us" | "µs"
//
// "+" fails when the stat rose by more than the amount, "-" when it fell by
// more. "%" is relative to BASE; "pp" is percentage points of a ratio
// (error_rate, the rate of a rate metric such as checks); ms, s, us are
// absolute changes of a time trend; no unit is an absolute change in the
// metric's own unit. Without a query, latency stats apply to
// iteration_duration and throughput and error_rate to the run's
// iterations: "p(95)+10%,error_rate+0.5pp,throughput-5%",
// "tool_duration{tool:http_request}:p(99)+20ms".
type Tolerance struct {
	Source string
	Query  metrics.Query
	Stat   string
	// Sign is +1 for a rise, -1 for a fall.
	Sign   int
	Amount float64
	Unit   string
}

// ErrTolerance is the cause of a --fail-on rule that does not parse.
var ErrTolerance = errors.New("bad --fail-on rule")

var (
	ruleRE = regexp.MustCompile(`^(avg|min|med|max|rate|count|throughput|error_rate|p\([0-9]+(?:\.[0-9]+)?\))\s*([+-])\s*([0-9]+(?:\.[0-9]+)?)\s*(%|pp|ms|s|us|µs)?$`)
)

// ParseTolerances reads a comma-separated list of rules; commas inside a
// query's tags belong to the query.
func ParseTolerances(s string) ([]Tolerance, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty; want rules such as \"p(95)+10%%,error_rate+0.5pp\"", ErrTolerance)
	}
	var out []Tolerance
	for _, part := range splitRules(s) {
		t, err := parseRule(part)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// splitRules splits at commas outside braces and parentheses.
func splitRules(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '{', '(':
			depth++
		case '}', ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func parseRule(src string) (Tolerance, error) {
	rule := strings.TrimSpace(src)
	t := Tolerance{Source: rule}
	bad := func(format string, args ...any) (Tolerance, error) {
		return Tolerance{}, fmt.Errorf("%w %q: %s", ErrTolerance, rule, fmt.Sprintf(format, args...))
	}
	if rule == "" {
		return bad("empty rule (two commas in a row?)")
	}
	// The query ends at the last ':' outside braces.
	body, query := rule, ""
	depth, cut := 0, -1
	for i := len(rule) - 1; i >= 0 && cut < 0; i-- {
		switch rule[i] {
		case '}':
			depth++
		case '{':
			depth--
		case ':':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut >= 0 {
		query, body = strings.TrimSpace(rule[:cut]), strings.TrimSpace(rule[cut+1:])
		if query == "" {
			return bad("nothing before ':'; want METRIC:STAT+N%%")
		}
	}
	m := ruleRE.FindStringSubmatch(body)
	if m == nil {
		return bad("want [METRIC:]STAT+N%%, STAT+Npp or STAT+Nms, STAT one of avg, min, med, max, p(N), rate, count, throughput, error_rate")
	}
	t.Stat, t.Unit = m[1], m[4]
	t.Sign = 1
	if m[2] == "-" {
		t.Sign = -1
	}
	amount, err := strconv.ParseFloat(m[3], 64)
	if err != nil || math.IsInf(amount, 0) {
		return bad("amount %q is not a number", m[3])
	}
	t.Amount = amount
	if strings.HasPrefix(t.Stat, "p(") {
		p, _ := strconv.ParseFloat(t.Stat[2:len(t.Stat)-1], 64)
		if p <= 0 || p >= 100 {
			return bad("percentile %s: want p(N) with 0 < N < 100", t.Stat)
		}
	}
	if query == "" {
		switch t.Stat {
		case "throughput", "error_rate":
			t.Query = metrics.Query{Metric: metrics.Iterations}
		case "rate", "count":
			return bad("%s needs a metric, as checks:rate-1pp or tool_calls:rate-10%%", t.Stat)
		default:
			t.Query = metrics.Query{Metric: metrics.IterationDuration}
		}
	} else {
		q, err := metrics.ParseQuery(query)
		if err != nil {
			return bad("%v", err)
		}
		t.Query = q
	}
	switch {
	case t.Unit == "pp" && t.Stat != "error_rate" && t.Stat != "rate":
		return bad("pp (percentage points) applies to error_rate and rate, not %s", t.Stat)
	case (t.Unit == "ms" || t.Unit == "s" || t.Unit == "us" || t.Unit == "µs") && !isTrendStat(t.Stat):
		return bad("%s is a time; %s is not a latency stat", t.Unit, t.Stat)
	}
	return t, nil
}

// String renders the rule as written.
func (t Tolerance) String() string { return t.Source }
