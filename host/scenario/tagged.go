package scenario

import (
	"maps"
	"sync"

	"spellhost/host/metrics"
)

// hostRecorder writes the values the host measures itself (memory, VUs,
// tasks) straight into the store, under the run's global tags and each
// value's own tags over them. Safe for concurrent use.
type hostRecorder struct {
	st     *metrics.Store
	mu     sync.Mutex
	global map[string]string
	cache  map[hostKey]*metrics.Series
}

type hostKey struct {
	def  *metrics.Def
	tags string // the value's own tags, canonical
}

func newHostRecorder(st *metrics.Store) *hostRecorder {
	return &hostRecorder{st: st, cache: map[hostKey]*metrics.Series{}}
}

// setGlobal sets the global tags of the values recorded from now on.
func (h *hostRecorder) setGlobal(tags map[string]string) {
	h.mu.Lock()
	h.global = maps.Clone(tags)
	clear(h.cache)
	h.mu.Unlock()
}

// series returns the series of def for a value with tags.
func (h *hostRecorder) series(def *metrics.Def, tags map[string]string) *metrics.Series {
	k := hostKey{def, metrics.Tags(tags)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.cache[k]; ok {
		return s
	}
	all := maps.Clone(h.global)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, tags)
	s := h.st.Series(def, metrics.Tags(all))
	if len(h.cache) < maxCachedSeries {
		h.cache[k] = s
	}
	return s
}

// maxCachedSeries bounds the recorder's cache of series.
const maxCachedSeries = 4096

// add records one value of the metric name with tags.
func (h *hostRecorder) add(name string, v float64, tags map[string]string) {
	def, ok := h.st.Def(name)
	if !ok {
		return
	}
	h.st.Add(h.series(def, tags), v)
}
