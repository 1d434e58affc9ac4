// Package memlimit holds a spellhost process to its memory limit
// (--max-memory). Sampling resident memory every 100ms let a script that
// doubles a string overshoot the limit twofold between two samples, so the
// limit is held in three ways at once:
//
//   - the Go runtime's soft limit is set a little below it, so the
//     collector works harder, and gives memory back, before the limit;
//   - a watcher reads the process's peak resident memory every few
//     milliseconds and after every garbage collection, so a transient
//     peak (a table's array copied as it grows) is seen too;
//   - Reserve is called before any single large allocation a script can
//     ask for (string concatenation, string.rep, table.concat, JSON), and
//     refuses one that would take the process over the limit, before a
//     byte of it is allocated.
//
// When the limit is passed or an allocation refused, the Limiter calls its
// onExceed function once; the run stops there (exit 111).
package memlimit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/internal/procmem"
)

// Tuning.
const (
	// SoftShare is the share of the limit given to the Go runtime as its
	// soft memory limit.
	SoftShare = 0.9
	// Interval is how often the watcher reads the peak resident memory
	// once it is over half the limit; IdleInterval below that (memory
	// cannot grow by half the limit in 20ms).
	Interval     = 5 * time.Millisecond
	IdleInterval = 20 * time.Millisecond
	// MinReserve is the smallest allocation Reserve looks at: smaller ones
	// cannot overshoot by much before the watcher sees them.
	MinReserve = 1 << 20
)

// ErrExceeded matches every *Exceeded.
var ErrExceeded = errors.New("memory limit exceeded")

// Exceeded is the memory limit firing: the process's memory passed it, or
// an allocation was refused because it would have.
type Exceeded struct {
	// Limit is the limit in bytes; Used is the resident memory seen, or
	// for a refused allocation the memory it would have taken the
	// process to.
	Limit, Used uint64
	// What names a refused allocation ("" when the watcher fired).
	What string
	// Size is the refused allocation's size.
	Size uint64
}

func (e *Exceeded) Error() string {
	if e.What != "" {
		return fmt.Sprintf("%s of %s would take memory use to %s, over --max-memory=%s",
			e.What, FormatBytes(e.Size), FormatBytes(e.Used), FormatBytes(e.Limit))
	}
	return fmt.Sprintf("memory use of %s exceeds --max-memory=%s", FormatBytes(e.Used), FormatBytes(e.Limit))
}

// Is makes every Exceeded match ErrExceeded.
func (e *Exceeded) Is(target error) bool { return target == ErrExceeded }

// FormatBytes renders a size in MiB, as the limit's messages do.
func FormatBytes(b uint64) string {
	const mib = 1 << 20
	if b >= 10*mib {
		return fmt.Sprintf("%d MiB", b/mib)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/mib)
}

// Limiter holds the process to a limit. A nil *Limiter holds nothing: its
// methods do nothing and Reserve always succeeds. Safe for concurrent use.
type Limiter struct {
	limit    uint64
	onExceed func(*Exceeded)
	fired    atomic.Bool
	// pending is what Reserve granted that may not show in the process's
	// memory yet.
	pending  atomic.Int64
	peakMode bool // the watcher reads the peak resident memory (else the current)
	prevSoft int64
	stopped  atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	slow     sync.Mutex // one collection at a time on Reserve's slow path
	maxSeen  atomic.Uint64
}

// Start holds the process to limit bytes of resident memory until Stop,
// calling onExceed (once, from any goroutine) when the limit fires. It
// sets the runtime's soft memory limit, which Stop restores. limit 0
// returns nil: no limit.
func Start(limit uint64, onExceed func(*Exceeded)) *Limiter {
	if limit == 0 {
		return nil
	}
	l := &Limiter{limit: limit, onExceed: onExceed, stop: make(chan struct{}), done: make(chan struct{})}
	// The peak of an earlier run in this process (tests run many) must
	// not count: reset it, or watch the current resident memory instead.
	if PeakRSS() >= limit {
		resetPeak()
	}
	l.peakMode = PeakRSS() < limit
	l.prevSoft = debug.SetMemoryLimit(int64(float64(limit) * SoftShare))
	go l.watch()
	l.armGC()
	return l
}

// Stop ends the watcher and restores the runtime's soft memory limit.
func (l *Limiter) Stop() {
	if l == nil || l.stopped.Swap(true) {
		return
	}
	close(l.stop)
	<-l.done
	debug.SetMemoryLimit(l.prevSoft)
}

// Limit returns the limit in bytes (0 for a nil Limiter).
func (l *Limiter) Limit() uint64 {
	if l == nil {
		return 0
	}
	return l.limit
}

// Peak returns the highest resident memory the limiter saw.
func (l *Limiter) Peak() uint64 {
	if l == nil {
		return 0
	}
	return l.maxSeen.Load()
}

// Fired reports whether the limit fired.
func (l *Limiter) Fired() bool { return l != nil && l.fired.Load() }

func (l *Limiter) watch() {
	defer close(l.done)
	t := time.NewTimer(Interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if used := l.check(); used > l.limit/2 {
				t.Reset(Interval)
			} else {
				t.Reset(IdleInterval)
			}
		}
	}
}

// armGC runs check at the end of the next garbage collection, and so on
// after every one: near the soft limit collections come often, and each
// is a moment when the memory just grew.
func (l *Limiter) armGC() {
	s := &gcSentinel{}
	runtime.AddCleanup(s, func(l *Limiter) {
		if !l.stopped.Load() {
			l.check()
			l.armGC()
		}
	}, l)
}

// gcSentinel is large enough to get an allocation of its own (the tiny
// allocator would tie its life to its neighbours').
type gcSentinel struct{ _ [32]byte }

// check fires when the resident memory passed the limit, and returns it.
func (l *Limiter) check() uint64 {
	var used uint64
	if l.peakMode {
		used = PeakRSS() // never below the current resident memory
	}
	if used == 0 {
		used = procmem.RSS()
	}
	l.seen(used)
	if used > l.limit {
		l.fire(&Exceeded{Limit: l.limit, Used: used})
	}
	return used
}

func (l *Limiter) seen(used uint64) {
	for {
		m := l.maxSeen.Load()
		if used <= m || l.maxSeen.CompareAndSwap(m, used) {
			return
		}
	}
}

func (l *Limiter) fire(e *Exceeded) {
	if !l.fired.Swap(true) && l.onExceed != nil {
		l.onExceed(e)
	}
}

// Reserve asks for n bytes about to be allocated at once; what names the
// allocation in the error ("string concatenation"). When the process's
// memory plus what is reserved plus n would pass the limit, even after a
// collection gives back what it can, the limit fires and Reserve returns
// an *Exceeded; otherwise call release once the allocation is made.
// Allocations under MinReserve are not looked at.
func (l *Limiter) Reserve(n int, what string) (release func(), err error) {
	if l == nil || n < MinReserve {
		return func() {}, nil
	}
	if l.fired.Load() {
		return nil, &Exceeded{Limit: l.limit, Used: l.used() + uint64(n), What: what, Size: uint64(n)}
	}
	// The request counts in pending from here, so that requests made at
	// the same time see each other.
	size := uint64(n)
	l.pending.Add(int64(n))
	release = func() { l.pending.Add(-int64(n)) }
	if l.used() <= l.limit {
		return release, nil
	}
	// Over, counting garbage and free memory the runtime still holds:
	// collect, give free memory back, and look again.
	l.slow.Lock()
	if l.used() > l.limit {
		debug.FreeOSMemory()
	}
	used := l.used()
	l.slow.Unlock()
	if used <= l.limit {
		return release, nil
	}
	release()
	e := &Exceeded{Limit: l.limit, Used: used, What: what, Size: size}
	l.fire(e)
	return nil, e
}

// Check is Reserve for an allocation made bit by bit: it asks whether n
// more bytes fit, without holding them.
func (l *Limiter) Check(n int, what string) error {
	release, err := l.Reserve(n, what)
	if err == nil {
		release()
	}
	return err
}

// used is the resident memory now plus what was reserved, including, while
// Reserve runs, the request itself.
func (l *Limiter) used() uint64 {
	rss := procmem.RSS()
	if rss == 0 {
		rss = goMemory()
	}
	return rss + uint64(max(l.pending.Load(), 0))
}

// goMemory is what the Go runtime holds from the operating system: the
// fallback where resident memory cannot be read.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// resetPeak asks the kernel to start the peak resident memory afresh.
func resetPeak() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSS returns the process's peak resident memory in bytes (VmHWM;
// 0 when it cannot be read).
func PeakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte("\nVmHWM:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	fields := bytes.Fields(line) // "1234", "kB"
	if len(fields) != 2 || string(fields[1]) != "kB" {
		return 0
	}
	kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}
