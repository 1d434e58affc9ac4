package memlimit_test

import (
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/memlimit"
	"spellhost/internal/procmem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNilLimiter(t *testing.T) {
	var l *memlimit.Limiter
	if l = memlimit.Start(0, nil); l != nil {
		t.Fatal("a zero limit made a limiter")
	}
	release, err := l.Reserve(1<<40, "anything")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if l.Fired() || l.Peak() != 0 || l.Limit() != 0 {
		t.Fatal("a nil limiter reports something")
	}
	l.Stop()
}

// TestReserve: an allocation that fits is granted and counts until
// released; one that would pass the limit is refused before it is made,
// and the limit fires once.
func TestReserve(t *testing.T) {
	if procmem.RSS() == 0 {
		t.Skip("no /proc/self/statm")
	}
	before := debug.SetMemoryLimit(-1)
	debug.FreeOSMemory() // what an earlier test left must not count
	limit := procmem.RSS() + 64<<20
	fired := make(chan *memlimit.Exceeded, 2)
	l := memlimit.Start(limit, func(e *memlimit.Exceeded) { fired <- e })
	if got := debug.SetMemoryLimit(-1); got != int64(float64(limit)*memlimit.SoftShare) {
		t.Fatalf("soft limit %d; want %.0f", got, float64(limit)*memlimit.SoftShare)
	}
	release, err := l.Reserve(40<<20, "first")
	if err != nil {
		t.Fatal(err)
	}
	// With 40 MiB held, another 40 MiB does not fit.
	_, err = l.Reserve(40<<20, "string concatenation")
	var e *memlimit.Exceeded
	if !errors.As(err, &e) || !errors.Is(err, memlimit.ErrExceeded) || e.Size != 40<<20 || e.Limit != limit {
		t.Fatalf("second reservation: %v", err)
	}
	if !strings.Contains(err.Error(), "string concatenation of 40 MiB would take memory use to") {
		t.Fatalf("message: %v", err)
	}
	if got := <-fired; got.What != "string concatenation" || !l.Fired() {
		t.Fatalf("fired with %+v", got)
	}
	release()
	// Once fired, every large request is refused, and onExceed is not
	// called again.
	if _, err := l.Reserve(2<<20, "later"); err == nil {
		t.Fatal("a request after the limit fired was granted")
	}
	// Small requests are not looked at.
	if release, err := l.Reserve(memlimit.MinReserve-1, "small"); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	l.Stop()
	if got := debug.SetMemoryLimit(before); got != before {
		t.Fatalf("Stop left the soft limit at %d, not %d", got, before)
	}
	select {
	case e := <-fired:
		t.Fatalf("fired twice: %v", e)
	default:
	}
}

// TestWatcher: memory that grows past the limit without asking is seen
// by the watcher, which fires with the memory it saw.
func TestWatcher(t *testing.T) {
	if procmem.RSS() == 0 {
		t.Skip("no /proc/self/statm")
	}
	limit := procmem.RSS() + 32<<20
	fired := make(chan *memlimit.Exceeded, 1)
	l := memlimit.Start(limit, func(e *memlimit.Exceeded) { fired <- e })
	defer l.Stop()
	var hold [][]byte
	deadline := time.After(30 * time.Second) // only catches a hang
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		hold = append(hold, b)
		select {
		case e := <-fired:
			if e.Used <= limit || e.What != "" || !strings.Contains(e.Error(), "exceeds --max-memory=") {
				t.Fatalf("fired with %+v (%v)", e, e)
			}
			if l.Peak() < e.Used {
				t.Fatalf("peak %d under what fired, %d", l.Peak(), e.Used)
			}
			runtime.KeepAlive(hold)
			return
		case <-deadline:
			t.Fatalf("did not fire with %d MiB held over a limit %d MiB above the start", len(hold), 32)
		default:
		}
	}
}
