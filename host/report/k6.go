package report

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"io"
	"sort"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/result"
)

// SummaryState is what the summary data says of where the summary goes:
// whether stdout and stderr are terminals, and the display options.
type SummaryState struct {
	StdoutTTY, StderrTTY bool
	NoColor              bool
	// TimeUnit is --summary-time-unit's ("" for the best unit per value).
	TimeUnit string
}

// SummaryData is the run's summary in the shape k6 hands to
// handleSummary(data):
//
//	metrics[name] = {type, contains, values, thresholds = {[expr] = {ok}}}
//	root_group = {name, path, id, groups, checks = [{name, path, id, passes, fails}]}
//	state = {isStdOutTTY, isStdErrTTY, testRunDurationMs}
//	options = {summaryTrendStats, summaryTimeUnit, noColor}
//
// metrics holds every metric with a value and every sub-metric a
// threshold names (as metric{k:v}); a trend's values are the run's trend
// figures (--summary-trend-stats). Checks are summed by name over the
// scenarios; spellhost has no groups, so root_group has none.
func SummaryData(r *result.Run, st SummaryState) map[string]any {
	ms := map[string]any{}
	for _, t := range r.Totals {
		vals := make(map[string]any, len(t.Values))
		for k, v := range t.Values {
			vals[k] = v
		}
		ms[t.Name] = map[string]any{"type": t.Kind, "contains": t.Contains, "values": vals}
	}
	for _, th := range r.Thresholds {
		m, ok := ms[th.Metric].(map[string]any)
		if !ok {
			continue
		}
		ths, _ := m["thresholds"].(map[string]any)
		if ths == nil {
			ths = map[string]any{}
			m["thresholds"] = ths
		}
		ths[th.Expr] = map[string]any{"ok": th.Pass}
	}
	stats := r.TrendStats
	if stats == nil {
		stats = []string{}
	}
	return map[string]any{
		"metrics":    ms,
		"root_group": rootGroup(r, false),
		"state": map[string]any{"isStdOutTTY": st.StdoutTTY, "isStdErrTTY": st.StderrTTY,
			"testRunDurationMs": r.Duration * 1000},
		"options": map[string]any{"summaryTrendStats": stats, "summaryTimeUnit": st.TimeUnit, "noColor": st.NoColor},
	}
}

// rootGroup is the root group of the summary data: its checks as a list
// (handleSummary's shape) or as an object by name (the export's).
func rootGroup(r *result.Run, byName bool) map[string]any {
	passes, fails := map[string]int64{}, map[string]int64{}
	var names []string
	for _, c := range r.Checks {
		if _, ok := passes[c.Name]; !ok {
			names = append(names, c.Name)
		}
		passes[c.Name] += c.Passes
		fails[c.Name] += c.Fails
	}
	sort.Strings(names)
	list := make([]any, 0, len(names))
	obj := map[string]any{}
	for _, n := range names {
		path := "::" + n
		c := map[string]any{"name": n, "path": path, "id": groupID(path), "passes": passes[n], "fails": fails[n]}
		list = append(list, c)
		obj[n] = c
	}
	g := map[string]any{"name": "", "path": "", "id": groupID(""), "groups": []any{}, "checks": list}
	if byName {
		g["groups"], g["checks"] = map[string]any{}, obj
	}
	return g
}

// groupID is a group's or check's id, as k6 makes it: the MD5 of its path.
func groupID(path string) string {
	sum := md5.Sum([]byte(path))
	return hex.EncodeToString(sum[:])
}

// WriteSummaryExport writes the --summary-export file, in the shape k6's
// --summary-export writes: metrics[name] holds the figures themselves
// (a rate's as value, not rate) and thresholds = {[expr] = failed}, a
// true for a threshold that failed; root_group's checks and groups are
// objects keyed by name.
func WriteSummaryExport(w io.Writer, r *result.Run) error {
	ms := map[string]any{}
	for _, t := range r.Totals {
		vals := map[string]any{}
		for k, v := range t.Values {
			vals[k] = v
		}
		if t.Kind == "rate" {
			vals["value"] = vals["rate"]
			delete(vals, "rate")
		}
		ms[t.Name] = vals
	}
	for _, th := range r.Thresholds {
		m, ok := ms[th.Metric].(map[string]any)
		if !ok {
			continue
		}
		ths, _ := m["thresholds"].(map[string]any)
		if ths == nil {
			ths = map[string]any{}
			m["thresholds"] = ths
		}
		ths[th.Expr] = !th.Pass
	}
	bw := bufio.NewWriter(w)
	err := json.MarshalWrite(bw, map[string]any{"metrics": ms, "root_group": rootGroup(r, true)},
		json.Deterministic(true), jsontext.WithIndent("    "), jsontext.AllowInvalidUTF8(true), json.WithMarshalers(finiteOrNull))
	if err == nil {
		err = bw.WriteByte('\n')
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}
