package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Store holds every series of a run. VUs do not write to it directly:
// each writes to its own Buffer, which flushes here in batches, so the
// store's one lock is taken rarely. Safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	defs   map[string]*Def
	series map[seriesKey]*Series
	order  []*Series // creation order, for stable iteration
	start  time.Time
	last   time.Time // time of the last Tick
}

type seriesKey struct {
	def  *Def
	tags string
}

// Series is one metric with one tag set.
type Series struct {
	Def  *Def
	Tags string
	tags map[string]string
	agg  *agg // since the start
	win  *agg // since the last Tick
}

// TagMap returns the series' tags.
func (s *Series) TagMap() map[string]string { return s.tags }

// Name renders the series as metric{k:v,...}.
func (s *Series) Name() string {
	if s.Tags == "" {
		return s.Def.Name
	}
	return s.Def.Name + "{" + strings.ReplaceAll(s.Tags, "=", ":") + "}"
}

// NewStore returns a store with the built-in metrics defined.
func NewStore() *Store {
	st := &Store{defs: map[string]*Def{}, series: map[seriesKey]*Series{}, start: time.Now()}
	st.last = st.start
	for i := range Builtin {
		d := Builtin[i]
		st.defs[d.Name] = &d
	}
	return st
}

// Start returns the store's time zero.
func (st *Store) Start() time.Time { return st.start }

// Define declares a metric, or returns the existing declaration when the
// kind matches. A name in use with another kind is an error.
func (st *Store) Define(name string, kind Kind, unit Unit) (*Def, error) {
	if !metricName.MatchString(name) {
		return nil, fmt.Errorf("metric name %q: want letters, digits, '_' and '.', starting with a letter, at most 128", name)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if d, ok := st.defs[name]; ok {
		if d.Kind != kind {
			return nil, fmt.Errorf("metric %q is a %s, not a %s", name, d.Kind, kind)
		}
		return d, nil
	}
	d := &Def{Name: name, Kind: kind, Unit: unit}
	st.defs[name] = d
	return d, nil
}

// Def returns a declared metric.
func (st *Store) Def(name string) (*Def, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	d, ok := st.defs[name]
	return d, ok
}

// Series returns the series of def with the canonical tags, creating it.
func (st *Store) Series(def *Def, tags string) *Series {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.seriesLocked(def, tags)
}

func (st *Store) seriesLocked(def *Def, tags string) *Series {
	k := seriesKey{def, tags}
	if s, ok := st.series[k]; ok {
		return s
	}
	s := &Series{Def: def, Tags: tags, tags: ParseTags(tags), agg: newAgg(def.Kind), win: newAgg(def.Kind)}
	st.series[k] = s
	st.order = append(st.order, s)
	return s
}

// Add records one value straight into the store, under its lock: for
// values that do not come from a VU (memory samples, task metrics).
func (st *Store) Add(s *Series, v float64) {
	st.mu.Lock()
	s.agg.add(v)
	s.win.add(v)
	st.mu.Unlock()
}

// Buffer is one VU's write side: values are kept locally and flushed into
// the store in batches. Not safe for concurrent use.
type Buffer struct {
	st      *Store
	recs    []rec
	max     int
	last    time.Time
	every   time.Duration
	cache   map[seriesKey]*Series
	flushes int64
}

type rec struct {
	s *Series
	v float64
}

// NewBuffer returns a buffer that flushes when it holds max values, or on
// MaybeFlush once every interval.
func (st *Store) NewBuffer(max int, every time.Duration) *Buffer {
	if max <= 0 {
		max = 256
	}
	return &Buffer{st: st, recs: make([]rec, 0, min(max, 16)), max: max, every: every, last: time.Now(),
		cache: map[seriesKey]*Series{}}
}

// Series returns a series, caching it in the buffer so later lookups take
// no lock.
func (b *Buffer) Series(def *Def, tags string) *Series {
	k := seriesKey{def, tags}
	if s, ok := b.cache[k]; ok {
		return s
	}
	s := b.st.Series(def, tags)
	if len(b.cache) < 4096 {
		b.cache[k] = s
	}
	return s
}

// Add records one value.
func (b *Buffer) Add(s *Series, v float64) {
	b.recs = append(b.recs, rec{s, v})
	if len(b.recs) >= b.max {
		b.Flush()
	}
}

// MaybeFlush flushes when the last flush is older than the interval; VUs
// call it at the end of each iteration.
func (b *Buffer) MaybeFlush(now time.Time) {
	if len(b.recs) > 0 && now.Sub(b.last) >= b.every {
		b.Flush()
	}
}

// Flush moves the buffered values into the store.
func (b *Buffer) Flush() {
	b.last = time.Now()
	if len(b.recs) == 0 {
		return
	}
	b.st.mu.Lock()
	for _, r := range b.recs {
		r.s.agg.add(r.v)
		r.s.win.add(r.v)
	}
	b.st.mu.Unlock()
	b.recs = b.recs[:0]
	b.flushes++
}

// Window is one series over one tick.
type Window struct {
	Series *Series
	Stats  Stats
}

// Tick closes the current window: it returns the figures of every series
// that saw values since the last Tick and starts new windows.
func (st *Store) Tick(now time.Time) (time.Duration, []Window) {
	st.mu.Lock()
	defer st.mu.Unlock()
	span := now.Sub(st.last).Seconds()
	st.last = now
	var out []Window
	for _, s := range st.order {
		if s.win.count == 0 {
			continue
		}
		out = append(out, Window{Series: s, Stats: s.win.stats(span)})
		// The stats keep a pointer to the window's histograms for
		// percentiles; hand over a copy and reset the live one.
		out[len(out)-1].Stats.agg = s.win.clone()
		s.win.reset()
	}
	return now.Sub(st.start), out
}

func (a *agg) clone() *agg {
	c := *a
	if a.pos != nil {
		c.pos = a.pos.Clone()
	}
	if a.neg != nil {
		c.neg = a.neg.Clone()
	}
	return &c
}

// Query selects series: a metric name and tags every series must carry
// ("tool_duration{tool:calculator}").
type Query struct {
	Metric string
	Tags   map[string]string
}

// String renders the query as metric{k:v}.
func (q Query) String() string {
	if len(q.Tags) == 0 {
		return q.Metric
	}
	keys := make([]string, 0, len(q.Tags))
	for k := range q.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + q.Tags[k]
	}
	return q.Metric + "{" + strings.Join(parts, ",") + "}"
}

// ParseQuery reads "metric" or "metric{k:v,k2:v2}".
func ParseQuery(s string) (Query, error) {
	s = strings.TrimSpace(s)
	name, rest, hasTags := strings.Cut(s, "{")
	q := Query{Metric: strings.TrimSpace(name)}
	if !metricName.MatchString(q.Metric) {
		return q, fmt.Errorf("%q: %q is not a metric name", s, q.Metric)
	}
	if !hasTags {
		return q, nil
	}
	if !strings.HasSuffix(rest, "}") {
		return q, fmt.Errorf("%q: missing '}' after the tags", s)
	}
	rest = strings.TrimSuffix(rest, "}")
	q.Tags = map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return q, fmt.Errorf("%q: tag %q: want key:value", s, kv)
		}
		q.Tags[k] = v
	}
	return q, nil
}

// matches reports whether a series belongs to the query.
func (q Query) matches(s *Series) bool {
	if s.Def.Name != q.Metric {
		return false
	}
	for k, v := range q.Tags {
		if s.tags[k] != v {
			return false
		}
	}
	return true
}

// Stats merges every series matching q, from the start of the run to now.
// ok is false when the metric is unknown.
func (st *Store) Stats(q Query, seconds float64) (stats Stats, def *Def, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	def, ok = st.defs[q.Metric]
	if !ok {
		return Stats{}, nil, false
	}
	sum := newAgg(def.Kind)
	for _, s := range st.order {
		if q.matches(s) {
			sum.merge(s.agg)
		}
	}
	return sum.stats(seconds), def, true
}

// All returns every series with its totals, in creation order.
func (st *Store) All(seconds float64) []Window {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]Window, 0, len(st.order))
	for _, s := range st.order {
		a := s.agg.clone()
		out = append(out, Window{Series: s, Stats: a.stats(seconds)})
	}
	return out
}
