package task

import (
	"context"
	"sync"
	"testing"
)

// TestWatchForgetsSubscribers: watches stopped early and watches that saw
// the end leave nothing behind in the manager, with many at once.
func TestWatchForgetsSubscribers(t *testing.T) {
	m, err := New(Config{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var wg sync.WaitGroup
	for i := range 200 {
		id, err := m.Submit(Spec{Name: "fn", Run: func(context.Context, *Attempt) (any, error) { return i, nil }})
		if err != nil {
			t.Fatal(err)
		}
		ch, stop, err := m.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				stop()
				return
			}
			for range ch {
			}
		}()
	}
	wg.Wait()
	// Odd watches read to the end (their task ended and dropped them);
	// even ones were stopped.
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.watch); n != 0 {
		t.Fatalf("%d tasks still have watchers", n)
	}
}
