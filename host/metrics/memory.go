package metrics

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"

	"spellhost/internal/procmem"
)

// MemSample is one reading of the process's memory.
type MemSample struct {
	// At is the time since the sampler started.
	At time.Duration `json:"-"`
	// Seconds is At in seconds, for JSON.
	Seconds float64 `json:"t"`
	// RSS is the resident set size, from /proc/self/statm (0 where there
	// is no /proc).
	RSS uint64 `json:"rss"`
	// HeapLive is the heap the last garbage collection found live
	// (runtime/metrics /gc/heap/live:bytes): unlike RSS or allocated
	// bytes it does not saw-tooth between collections, so growth in it is
	// growth in what the program holds.
	HeapLive uint64 `json:"heap_live"`
	// Goroutines is the number of goroutines.
	Goroutines int `json:"goroutines"`
	// Iterations is the run's iteration count when the sample was taken.
	Iterations int64 `json:"iterations"`
}

// ReadMemory takes one sample (At and Iterations left zero).
func ReadMemory() MemSample {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	metrics.Read(s)
	m := MemSample{RSS: procmem.RSS()}
	if s[0].Value.Kind() == metrics.KindUint64 {
		m.HeapLive = s[0].Value.Uint64()
	}
	// Before the first collection the live heap reads 0; the heap's
	// objects (live and not yet swept) are the honest figure until then,
	// so a run does not start its timeline at zero.
	if m.HeapLive == 0 {
		m.HeapLive = procmem.HeapObjects()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		m.Goroutines = int(s[1].Value.Uint64())
	}
	return m
}

// MaxSamples bounds a sampler's timeline: when it is full, neighbouring
// samples are merged (keeping the later of each pair), halving the
// resolution, so a ten-hour run keeps as many points as a ten-minute one.
const MaxSamples = 2048

// Sampler reads memory on an interval and keeps a bounded timeline.
type Sampler struct {
	interval   time.Duration
	reset      chan time.Duration
	iterations func() int64
	onSample   func(MemSample)

	mu      sync.Mutex
	samples []MemSample
	stride  int // samples taken per kept sample
	skipped int
	peak    MemSample
	start   time.Time
}

// NewSampler returns a sampler taking a sample every interval. iterations,
// when not nil, reports the run's iteration count for each sample;
// onSample, when not nil, sees every sample as it is taken (the memory
// limit watches here).
func NewSampler(interval time.Duration, iterations func() int64, onSample func(MemSample)) *Sampler {
	if interval <= 0 {
		interval = time.Second
	}
	return &Sampler{interval: interval, iterations: iterations, onSample: onSample, stride: 1,
		reset: make(chan time.Duration, 1)}
}

// SetInterval changes the sampling interval of a running sampler.
func (s *Sampler) SetInterval(d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case s.reset <- d:
	default:
		<-s.reset
		s.reset <- d
	}
}

// Run samples until ctx ends; it takes one sample at once and one at the
// end. Run it on its own goroutine; it returns when ctx is done.
func (s *Sampler) Run(ctx context.Context) {
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			s.Sample()
			return
		case <-t.C:
			s.Sample()
		case d := <-s.reset:
			t.Reset(d)
		}
	}
}

// Sample takes one sample now.
func (s *Sampler) Sample() MemSample {
	m := ReadMemory()
	if s.iterations != nil {
		m.Iterations = s.iterations()
	}
	s.mu.Lock()
	if s.start.IsZero() {
		s.start = time.Now()
	}
	m.At = time.Since(s.start)
	m.Seconds = m.At.Seconds()
	if m.RSS > s.peak.RSS {
		s.peak.RSS = m.RSS
	}
	if m.HeapLive > s.peak.HeapLive {
		s.peak.HeapLive = m.HeapLive
	}
	if m.Goroutines > s.peak.Goroutines {
		s.peak.Goroutines = m.Goroutines
	}
	s.skipped++
	if s.skipped >= s.stride {
		s.skipped = 0
		s.samples = append(s.samples, m)
		if len(s.samples) >= MaxSamples {
			half := s.samples[:0]
			for i := 1; i < len(s.samples); i += 2 {
				half = append(half, s.samples[i])
			}
			s.samples = half
			s.stride *= 2
		}
	}
	s.mu.Unlock()
	if s.onSample != nil {
		s.onSample(m)
	}
	return m
}

// Samples returns a copy of the timeline.
func (s *Sampler) Samples() []MemSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MemSample(nil), s.samples...)
}

// Peak returns the highest RSS, heap and goroutine count seen.
func (s *Sampler) Peak() MemSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
