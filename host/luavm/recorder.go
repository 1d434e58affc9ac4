package luavm

import (
	"maps"
	"time"

	"spellhost/host/metrics"
	"spellhost/tools"
)

// Recorder is one Lua state's write side of the run's metrics: what its
// bindings measure goes into its buffer, under the recorder's tags (the
// run's global tags and, in a VU, its scenario's tags with scenario=NAME;
// in a task worker, the task's tags). Not safe for concurrent use: one
// goroutine owns it, as it owns the Lua state.
//
// Add is the way for any binding to record a value: it needs a metric's
// declaration (Store.Def or Store.Define) and the value's own tags.
type Recorder struct {
	Store *metrics.Store
	Buf   *metrics.Buffer

	tags                       map[string]string
	toolCalls, toolDur, checks *metrics.Def
	plain                      map[*metrics.Def]*metrics.Series // def -> series with the recorder's tags
	toolSeries                 map[[2]string][2]*metrics.Series // tool, outcome -> calls, duration
	checkSeries                map[string]*metrics.Series       // check name -> series
}

// maxCachedSeries bounds each of the recorder's series caches.
const maxCachedSeries = 4096

// NewRecorder returns a recorder writing through buf into st, with no tags.
func NewRecorder(st *metrics.Store, buf *metrics.Buffer) *Recorder {
	r := &Recorder{Store: st, Buf: buf}
	r.toolCalls, _ = st.Def(metrics.ToolCalls)
	r.toolDur, _ = st.Def(metrics.ToolDuration)
	r.checks, _ = st.Def(metrics.Checks)
	r.SetTags(nil)
	return r
}

// SetTags sets the tags every value recorded from now on carries (a
// copy is kept).
func (r *Recorder) SetTags(tags map[string]string) {
	r.tags = maps.Clone(tags)
	if r.tags == nil {
		r.tags = map[string]string{}
	}
	r.plain = map[*metrics.Def]*metrics.Series{}
	r.toolSeries = map[[2]string][2]*metrics.Series{}
	r.checkSeries = map[string]*metrics.Series{}
}

// Tags returns a copy of the recorder's tags.
func (r *Recorder) Tags() map[string]string { return maps.Clone(r.tags) }

// Add records one value of def, tagged with the recorder's tags and tags
// (which win where both name a key). The value must be finite; tags are
// not checked here (see metrics.CheckTagKey and CheckTagValue for what a script may name).
func (r *Recorder) Add(def *metrics.Def, v float64, tags map[string]string) {
	if len(tags) == 0 {
		s, ok := r.plain[def]
		if !ok {
			s = r.Buf.Series(def, metrics.Tags(r.tags))
			if len(r.plain) < maxCachedSeries {
				r.plain[def] = s
			}
		}
		r.Buf.Add(s, v)
		return
	}
	r.Buf.Add(r.Buf.Series(def, metrics.Tags(r.with(tags))), v)
}

// with returns the recorder's tags with tags over them.
func (r *Recorder) with(tags map[string]string) map[string]string {
	m := make(map[string]string, len(r.tags)+len(tags))
	maps.Copy(m, r.tags)
	maps.Copy(m, tags)
	return m
}

// ToolCall records one tool call: tool_calls and tool_duration, tagged by
// tool and outcome ("ok" or the error type) over the recorder's tags.
func (r *Recorder) ToolCall(tool string, errType tools.ErrorType, d time.Duration) {
	outcome := string(errType)
	if outcome == "" {
		outcome = "ok"
	}
	key := [2]string{tool, outcome}
	s, ok := r.toolSeries[key]
	if !ok {
		t := metrics.Tags(r.with(map[string]string{"tool": tool, "outcome": outcome}))
		s = [2]*metrics.Series{r.Buf.Series(r.toolCalls, t), r.Buf.Series(r.toolDur, t)}
		if len(r.toolSeries) < maxCachedSeries {
			r.toolSeries[key] = s
		}
	}
	r.Buf.Add(s[0], 1)
	r.Buf.Add(s[1], float64(d)/float64(time.Millisecond))
}

// Check records one check result in the checks rate, tagged check=NAME
// and tags over the recorder's tags.
func (r *Recorder) Check(name string, pass bool, tags map[string]string) {
	v := 0.0
	if pass {
		v = 1
	}
	if len(tags) > 0 {
		m := maps.Clone(tags)
		m["check"] = name
		r.Add(r.checks, v, m)
		return
	}
	s, ok := r.checkSeries[name]
	if !ok {
		s = r.Buf.Series(r.checks, metrics.Tags(r.with(map[string]string{"check": name})))
		if len(r.checkSeries) < maxCachedSeries {
			r.checkSeries[name] = s
		}
	}
	r.Buf.Add(s, v)
}
