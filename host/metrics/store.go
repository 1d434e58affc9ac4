package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Caps on what a run's metrics may hold, so that a script making a new
// tag set on every add, or a new metric name, cannot grow them without
// bound. A value for a new series beyond a cap is dropped and counted
// (Store.Dropped); a metric declared beyond MaxCustomMetrics is refused.
const (
	// DefaultMaxSeries is how many series (tag sets) one metric may have
	// unless SetMaxSeries says otherwise (the --max-series flag).
	DefaultMaxSeries = 1000
	// MaxTotalSeries bounds the series of all metrics together (about
	// 1 KiB each).
	MaxTotalSeries = 50000
	// MaxCustomMetrics bounds the metrics a script may declare.
	MaxCustomMetrics = 1000
	// MaxTagsBytes bounds one series' canonical tag string.
	MaxTagsBytes = 4096
)

// ErrReserved is the error of a script declaring a built-in metric.
var ErrReserved = errors.New("the name of a built-in metric")

// Store holds every series of a run. VUs do not write to it directly:
// each writes to its own Buffer, which flushes here in batches, so the
// store's one lock is taken rarely. Safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	defs      map[string]*Def
	custom    int // metrics declared with Define
	series    map[seriesKey]*Series
	order     []*Series // creation order, for stable iteration
	perDef    map[*Def]int
	overflow  map[*Def]*Series // where values for series over the caps go
	maxSeries int
	start     time.Time
	last      time.Time // time of the last Tick
	// tap, when set, receives a copy of every value recorded (SetTap).
	tap Tap
}

// Sample is one value as it was recorded: the raw-sample outputs write
// one line each.
type Sample struct {
	Series *Series
	Value  float64
	// Time is when the value was recorded, in Unix nanoseconds.
	Time int64
}

// Tap receives a copy of every value the store records, with its time:
// the --out outputs of raw samples. Samples is called outside the store's
// lock, by whichever goroutine recorded the values (a VU flushing its
// buffer, the memory sampler, a task worker), so it must be safe for
// concurrent use, must not block, and must not keep batch, which is
// reused once it returns. Values of a metric's overflow series (over the
// caps on series) are passed too: see Series.Overflow.
type Tap interface {
	Samples(batch []Sample)
	// Thresholds gives the run's thresholds, once the options are
	// resolved.
	Thresholds(ts []*Threshold)
}

// SetTap makes t receive every value recorded from now on. Call it before
// any value is recorded, and before NewBuffer.
func (st *Store) SetTap(t Tap) { st.tap = t }

// Tap returns the store's tap, or nil.
func (st *Store) Tap() Tap { return st.tap }

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
	// drop marks a metric's overflow series: values added to it are only
	// counted, in dropped.
	drop    bool
	dropped int64
}

// record adds one value; the store's lock is held.
func (s *Series) record(v float64) {
	if s.drop {
		s.dropped++
		return
	}
	s.agg.add(v)
	s.win.add(v)
}

// Overflow reports whether the series is a metric's overflow series,
// which only counts the values of series past the caps.
func (s *Series) Overflow() bool { return s.drop }

// TagMap returns the series' tags.
func (s *Series) TagMap() map[string]string { return s.tags }

// Name renders the series as metric{k:v,...}, in the form thresholds
// take (values that need it are quoted).
func (s *Series) Name() string { return Query{Metric: s.Def.Name, Tags: s.tags}.String() }

// NewStore returns a store with the built-in metrics defined.
func NewStore() *Store {
	st := &Store{defs: map[string]*Def{}, series: map[seriesKey]*Series{}, start: time.Now(),
		perDef: map[*Def]int{}, overflow: map[*Def]*Series{}, maxSeries: DefaultMaxSeries}
	st.last = st.start
	for i := range Builtin {
		d := Builtin[i]
		st.defs[d.Name] = &d
	}
	return st
}

// SetMaxSeries sets how many series one metric may have (0 or less: the
// default). Series already made stay.
func (st *Store) SetMaxSeries(n int) {
	if n <= 0 {
		n = DefaultMaxSeries
	}
	st.mu.Lock()
	st.maxSeries = n
	st.mu.Unlock()
}

// MaxSeries returns how many series one metric may have.
func (st *Store) MaxSeries() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.maxSeries
}

// IsBuiltin reports whether name is a built-in metric's.
func IsBuiltin(name string) bool {
	for _, d := range Builtin {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Start returns the store's time zero.
func (st *Store) Start() time.Time { return st.start }

// Define declares a script's metric, or returns the existing declaration
// when the kind matches. A name in use with another kind, a built-in
// metric's name (ErrReserved) and a metric beyond MaxCustomMetrics are
// errors.
func (st *Store) Define(name string, kind Kind, unit Unit) (*Def, error) {
	if !metricName.MatchString(name) {
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		return nil, fmt.Errorf("metric name %q: want letters, digits, '_' and '.', starting with a letter, at most 128", name)
	}
	if IsBuiltin(name) {
		return nil, fmt.Errorf("metric %q: %w: read it with Metrics.stats or a threshold, but do not write it", name, ErrReserved)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if d, ok := st.defs[name]; ok {
		if d.Kind != kind {
			return nil, fmt.Errorf("metric %q is a %s, not a %s", name, d.Kind, kind)
		}
		return d, nil
	}
	if st.custom >= MaxCustomMetrics {
		return nil, fmt.Errorf("metric %q: the run already has %d metrics of its own, the most allowed", name, MaxCustomMetrics)
	}
	st.custom++
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
// Beyond the caps (the metric's series, all series, the tags' length) it
// returns the metric's overflow series, which only counts what is added.
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
	if st.perDef[def] >= st.maxSeries || len(st.order) >= MaxTotalSeries || len(tags) > MaxTagsBytes {
		s := st.overflow[def]
		if s == nil {
			s = &Series{Def: def, drop: true}
			st.overflow[def] = s
		}
		return s
	}
	s := &Series{Def: def, Tags: tags, tags: ParseTags(tags), agg: newAgg(def.Kind), win: newAgg(def.Kind)}
	st.series[k] = s
	st.order = append(st.order, s)
	st.perDef[def]++
	return s
}

// Dropped is how many values of one metric went to series over the caps.
type Dropped struct {
	Metric  string `json:"metric"`
	Samples int64  `json:"samples"`
}

// Dropped lists the metrics that lost values to the caps, by name.
func (st *Store) Dropped() []Dropped {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []Dropped
	for d, s := range st.overflow {
		if s.dropped > 0 {
			out = append(out, Dropped{Metric: d.Name, Samples: s.dropped})
		}
	}
	slices.SortFunc(out, func(a, b Dropped) int { return strings.Compare(a.Metric, b.Metric) })
	return out
}

// Add records one value straight into the store, under its lock: for
// values that do not come from a VU (memory samples, task metrics).
// Values that are not finite numbers are ignored.
func (st *Store) Add(s *Series, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	st.mu.Lock()
	s.record(v)
	st.mu.Unlock()
	if st.tap != nil {
		st.tap.Samples([]Sample{{Series: s, Value: v, Time: time.Now().UnixNano()}})
	}
}

// Buffer is one VU's write side: values are kept locally and flushed into
// the store in batches. Not safe for concurrent use.
type Buffer struct {
	st      *Store
	recs    []Sample
	tap     Tap
	max     int
	last    time.Time
	every   time.Duration
	cache   map[seriesKey]*Series
	flushes int64
}

// NewBuffer returns a buffer that flushes when it holds max values, or on
// MaybeFlush once every interval.
func (st *Store) NewBuffer(max int, every time.Duration) *Buffer {
	if max <= 0 {
		max = 256
	}
	return &Buffer{st: st, recs: make([]Sample, 0, min(max, 16)), max: max, every: every, last: time.Now(), tap: st.tap,
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

// Add records one value. Values that are not finite numbers are ignored
// (the Lua bindings refuse them before they get here).
func (b *Buffer) Add(s *Series, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	r := Sample{Series: s, Value: v}
	if b.tap != nil {
		r.Time = time.Now().UnixNano()
	}
	b.recs = append(b.recs, r)
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
		r.Series.record(r.Value)
	}
	b.st.mu.Unlock()
	if b.tap != nil {
		b.tap.Samples(b.recs)
	}
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

// TagKeys returns the tag keys the series of a metric carry, sorted.
func (st *Store) TagKeys(metric string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var keys []string
	for _, s := range st.order {
		if s.Def.Name != metric {
			continue
		}
		for k := range s.tags {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
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
