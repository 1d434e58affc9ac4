// Package output writes the raw samples of a run as they are recorded:
// the --out json=FILE stream (one JSON object a line, in the NDJSON
// schema k6 users read: a Metric line the first time a metric appears,
// then a Point line per value) and --out csv=FILE (one row per value, in
// k6's columns). A name ending in .gz is gzip-compressed.
//
// The store hands every batch of values to a Stream (metrics.Tap); the
// Stream queues it, bounded, and one goroutine writes the queue to every
// output and flushes them at least once a second, so tail -f shows the
// run as it goes and a crash loses at most a second. A run never waits
// for a file: when the writer falls behind and the queue is full, the
// batch is dropped and counted (Dropped), never held without bound.
package output

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/host/metrics"
)

// Output is one raw-sample file: WriteSample, Flush and Close are called
// by the Stream's goroutine only.
type Output interface {
	// Name says which output this is, for errors: "json=FILE".
	Name() string
	WriteSample(s metrics.Sample, c *Catalog) error
	Flush() error
	Close() error
}

// Default settings of a Stream.
const (
	// DefaultQueue is how many batches wait for the writer at most: with
	// the VUs' batches of up to 256 values, seconds of a busy run, and at
	// most 6 MiB.
	DefaultQueue = 1024
	// DefaultFlush is how often the outputs are flushed to their files.
	DefaultFlush = time.Second
	// drainEvery is how often the writer takes what is queued. It polls,
	// rather than wait on the queue, so that a VU handing over a batch
	// never has to wake it; a queue half full wakes it at once.
	drainEvery = 50 * time.Millisecond
	batchCap   = 256
)

// Stream is the run's metrics.Tap for the raw-sample outputs. Make one
// with NewStream, attach it with Store.SetTap, and Close it at the end.
type Stream struct {
	outs  []Output
	queue chan *[]metrics.Sample
	pool  sync.Pool
	every time.Duration
	cat   Catalog

	mu      sync.RWMutex // held for reading while sending, for writing to close
	closed  bool
	closing chan struct{} // closed by Close
	kick    chan struct{} // wakes the writer when the queue fills
	done    chan struct{}
	dropped atomic.Int64
	written atomic.Int64
	errs    []error // the writer's; read after done
}

var _ metrics.Tap = (*Stream)(nil)

// NewStream starts the writer of outs. queue and every of 0 take the
// defaults; tests pass their own.
func NewStream(outs []Output, queue int, every time.Duration) *Stream {
	if queue <= 0 {
		queue = DefaultQueue
	}
	if every <= 0 {
		every = DefaultFlush
	}
	s := &Stream{outs: outs, queue: make(chan *[]metrics.Sample, queue), every: every, done: make(chan struct{}),
		closing: make(chan struct{}), kick: make(chan struct{}, 1)}
	s.pool.New = func() any { b := make([]metrics.Sample, 0, batchCap); return &b }
	go s.write()
	return s
}

// Samples queues a copy of batch for the writer, or counts it dropped
// when the queue is full or the stream closed. It never blocks.
func (s *Stream) Samples(batch []metrics.Sample) {
	if len(batch) == 0 {
		return
	}
	p := s.pool.Get().(*[]metrics.Sample)
	*p = append((*p)[:0], batch...)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(int64(len(batch)))
		return
	}
	select {
	case s.queue <- p:
		if len(s.queue) > cap(s.queue)/2 {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	default:
		s.dropped.Add(int64(len(batch)))
		s.put(p)
	}
}

func (s *Stream) put(p *[]metrics.Sample) {
	if cap(*p) <= 4*batchCap { // keep the pool's slices small
		s.pool.Put(p)
	}
}

// Thresholds records the run's thresholds for the Metric lines of the
// metrics that appear from now on.
func (s *Stream) Thresholds(ts []*metrics.Threshold) { s.cat.set(ts) }

// write is the writer goroutine: it ends when Close closes closing.
func (s *Stream) write() {
	defer close(s.done)
	flushT := time.NewTicker(s.every)
	defer flushT.Stop()
	drainT := time.NewTicker(min(drainEvery, s.every))
	defer drainT.Stop()
	failed := make([]bool, len(s.outs))
	fail := func(i int, err error) {
		if err != nil && !failed[i] {
			failed[i] = true
			s.errs = append(s.errs, fmt.Errorf("--out %s: %w", s.outs[i].Name(), err))
		}
	}
	flush := func() {
		for i, o := range s.outs {
			if !failed[i] {
				fail(i, o.Flush())
			}
		}
	}
	drain := func() {
		for {
			select {
			case p := <-s.queue:
				for _, smp := range *p {
					if smp.Series.Overflow() {
						continue // a value for a series over the caps has no series to name
					}
					for i, o := range s.outs {
						if !failed[i] {
							fail(i, o.WriteSample(smp, &s.cat))
						}
					}
				}
				s.written.Add(int64(len(*p)))
				s.put(p)
			default:
				return
			}
		}
	}
	for {
		select {
		case <-s.closing:
			drain() // Samples sends nothing once closing is closed
			flush()
			for i, o := range s.outs {
				if err := o.Close(); !failed[i] {
					fail(i, err)
				}
			}
			return
		case <-s.kick:
			drain()
		case <-drainT.C:
			drain()
		case <-flushT.C:
			drain()
			flush()
		}
	}
}

// Close stops taking samples, writes what is queued, flushes and closes
// every output, and returns their errors, each naming its output. Values
// recorded after Close are counted dropped. Safe to call more than once.
func (s *Stream) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	<-s.done
	return errors.Join(s.errs...)
}

// Dropped is how many values were not written because the writer fell
// behind (or came after Close).
func (s *Stream) Dropped() int64 { return s.dropped.Load() }

// Catalog is what the Metric lines say of a metric beyond its
// declaration: the run's thresholds on it and its sub-metrics. Safe for
// concurrent use.
type Catalog struct {
	p atomic.Pointer[map[string]*catalogEntry]
}

type catalogEntry struct {
	thresholds []string
	submetrics []submetric
}

// submetric is a threshold's sub-metric, as the Metric lines list it.
type submetric struct {
	Name   string            `json:"name"`
	Suffix string            `json:"suffix"`
	Tags   map[string]string `json:"tags"`
}

func (c *Catalog) set(ts []*metrics.Threshold) {
	m := map[string]*catalogEntry{}
	for _, t := range ts {
		e := m[t.Query.Metric]
		if e == nil {
			e = &catalogEntry{}
			m[t.Query.Metric] = e
		}
		e.thresholds = append(e.thresholds, t.Source)
		if len(t.Query.Tags) == 0 {
			continue
		}
		name := t.Query.String()
		known := false
		for _, sm := range e.submetrics {
			known = known || sm.Name == name
		}
		if !known {
			e.submetrics = append(e.submetrics, submetric{Name: name, Suffix: name[len(t.Query.Metric)+1 : len(name)-1], Tags: t.Query.Tags})
		}
	}
	c.p.Store(&m)
}

// entry returns what is known of metric, or nil.
func (c *Catalog) entry(metric string) *catalogEntry {
	if p := c.p.Load(); p != nil {
		return (*p)[metric]
	}
	return nil
}
