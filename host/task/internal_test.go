package task

import (
	"testing"
	"time"
)

func TestFormatID(t *testing.T) {
	for n, want := range map[uint64]string{1: "t-000001", 42: "t-000042", 999999: "t-999999", 1234567: "t-1234567"} {
		if got := formatID(n); got != want {
			t.Errorf("formatID(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestBackoffDistribution draws many backoffs per retry: each stays within
// its ceiling (base doubling per retry, capped), and the draws spread over
// [0, ceiling] as full jitter does (mean near half the ceiling).
func TestBackoffDistribution(t *testing.T) {
	m, err := New(Config{Workers: 1, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := &Spec{Backoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
	ceilings := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	const draws = 4000
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, c := range ceilings {
		k, ceil := i+1, c*time.Millisecond
		var sum, top time.Duration
		for range draws {
			d := m.backoffLocked(s, k)
			if d < 0 || d > ceil {
				t.Fatalf("retry %d: backoff %v outside [0, %v]", k, d, ceil)
			}
			sum += d
			top = max(top, d)
		}
		mean := sum / draws
		if mean < ceil*45/100 || mean > ceil*55/100 || top < ceil*95/100 {
			t.Fatalf("retry %d: mean %v, max %v; want about %v and near %v", k, mean, top, ceil/2, ceil)
		}
	}
	// A huge retry count neither overflows nor passes the cap.
	if d := m.backoffLocked(&Spec{Backoff: time.Hour, MaxBackoff: 1<<63 - 1}, 100); d < 0 {
		t.Fatalf("overflowed: %v", d)
	}
	if d := m.backoffLocked(&Spec{Backoff: time.Second, MaxBackoff: time.Millisecond}, 1); d > time.Millisecond {
		t.Fatalf("a cap below the base did not hold: %v", d)
	}
}
