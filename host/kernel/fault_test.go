package kernel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/metrics"
	"spellhost/tools"
)

// faultKernel returns a kernel over the test tools with a fault set.
func faultKernel(t *testing.T) (*kernel.Kernel, *fault.Set) {
	t.Helper()
	reg, err := tools.NewRegistry(testTools()...)
	if err != nil {
		t.Fatal(err)
	}
	fs := fault.New(1)
	k := kernel.New(reg, kernel.Options{Faults: fs})
	t.Cleanup(func() { k.Close(); fs.Close() })
	return k, fs
}

func TestInjectedErrorAndPanic(t *testing.T) {
	k, fs := faultKernel(t)
	ctx := context.Background()
	fs.EnableText("tool:calc*", "1*error(timeout)->1*panic->off")
	_, err := k.Invoke(ctx, "calculator", map[string]any{"input": "1+1"}, 0)
	if tools.TypeOf(err) != tools.TypeInjected || !strings.Contains(err.Error(), "injected timeout") {
		t.Fatalf("first call: %v", err)
	}
	_, err = k.Invoke(ctx, "calculator", map[string]any{"input": "1+1"}, 0)
	if tools.TypeOf(err) != tools.TypeInjected || !strings.Contains(err.Error(), "injected panic") {
		t.Fatalf("second call: %v", err)
	}
	if k.Stats().Panics != 0 {
		t.Fatal("an injected panic was counted as a real one")
	}
	res, err := k.Invoke(ctx, "calculator", map[string]any{"input": "1+1"}, 0)
	if err != nil || res.(map[string]any)["result"] != 2.0 {
		t.Fatalf("after the chain: %v %v", res, err)
	}
	if l := fs.List(); l[0].Hits != 2 || l[0].Calls != 3 {
		t.Fatalf("rule accounting %+v", l)
	}
	// A real panic still counts as one.
	if _, err := k.Invoke(ctx, "panicker", nil, 0); tools.TypeOf(err) != tools.TypeInternal || k.Stats().Panics != 1 {
		t.Fatalf("real panic: %v", err)
	}
}

func TestInjectedHangMeetsTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, fs := faultKernel(t)
		fs.EnableText("tool:echo", "hang")
		start := time.Now()
		_, err := k.Invoke(context.Background(), "echo", map[string]any{"input": "x"}, 250*time.Millisecond)
		if tools.TypeOf(err) != tools.TypeTimeout || time.Since(start) != 250*time.Millisecond {
			t.Fatalf("hang: %v after %v", err, time.Since(start))
		}
		synctest.Wait()
		if s := k.Stats(); s.Abandoned != 0 || s.Running != 0 {
			t.Fatalf("a hung call is still held: %+v", s)
		}
	})
}

func TestSlowCancelIsAbandonedThenReclaimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, fs := faultKernel(t)
		fs.EnableText("tool:sleeper", "slow_cancel(2s)")
		start := time.Now()
		_, err := k.Invoke(context.Background(), "sleeper", map[string]any{"ms": 60000}, 100*time.Millisecond)
		if tools.TypeOf(err) != tools.TypeTimeout || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("slow_cancel: %v after %v", err, time.Since(start))
		}
		if k.Stats().Abandoned != 1 {
			t.Fatalf("the call that ignores cancellation is not counted abandoned: %+v", k.Stats())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if k.Stats().Abandoned != 0 {
			t.Fatalf("not reclaimed after slow_cancel ended: %+v", k.Stats())
		}
	})
}

func TestSlowMakesTheToolSlower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, fs := faultKernel(t)
		fs.EnableText("tool:sleeper", "slow(50%)")
		start := time.Now()
		res, err := k.Invoke(context.Background(), "sleeper", map[string]any{"ms": 200}, time.Second)
		if err != nil || time.Since(start) != 300*time.Millisecond {
			t.Fatalf("slow(50%%) of a 200ms call: %v %v after %v, want 300ms", res, err, time.Since(start))
		}
		// Slower than its limit, the call times out as a slow tool does.
		start = time.Now()
		_, err = k.Invoke(context.Background(), "sleeper", map[string]any{"ms": 200}, 250*time.Millisecond)
		if tools.TypeOf(err) != tools.TypeTimeout || time.Since(start) != 250*time.Millisecond {
			t.Fatalf("slow past the timeout: %v after %v", err, time.Since(start))
		}
		synctest.Wait()
		if s := k.Stats(); s.Abandoned != 0 || s.Running != 0 {
			t.Fatalf("a stretched call is still held: %+v", s)
		}
	})
}

func TestInjectedDelayAndCorrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, fs := faultKernel(t)
		fs.EnableText("tool:calculator", "delay(40ms)")
		start := time.Now()
		if _, err := k.Invoke(context.Background(), "calculator", map[string]any{"input": "2*3"}, 0); err != nil || time.Since(start) != 40*time.Millisecond {
			t.Fatalf("delay: %v after %v", err, time.Since(start))
		}
		fs.EnableText("tool:calculator", "corrupt")
		res, err := k.Invoke(context.Background(), "calculator", map[string]any{"input": "2*3"}, 0)
		if err != nil || res.(map[string]any)["result"] == 6.0 {
			t.Fatalf("corrupt left the result intact: %v %v", res, err)
		}
	})
}

func TestProtocolDecodeFaults(t *testing.T) {
	k, fs := faultKernel(t)
	ctx := context.Background()
	req := []byte(`{"id":"r1","command":"list"}`)
	fs.EnableText("protocol:decode", "1*error(garbled)->1*truncate(10)->1*panic->off")
	rep := decodeReply(t, k.DoJSON(ctx, req))
	if rep.Error == nil || rep.Error.Type != tools.TypeInjected || rep.ID != "r1" {
		t.Fatalf("injected decode error: %+v", rep)
	}
	rep = decodeReply(t, k.DoJSON(ctx, req))
	if rep.Error == nil || rep.Error.Type != tools.TypeValidation {
		t.Fatalf("truncated request: %+v", rep)
	}
	rep = decodeReply(t, k.DoJSON(ctx, req))
	if rep.Error == nil || rep.Error.Type != tools.TypeInjected {
		t.Fatalf("injected decoder panic: %+v", rep)
	}
	rep = decodeReply(t, k.DoJSON(ctx, req))
	if rep.Status != "ok" {
		t.Fatalf("after the chain: %+v", rep)
	}
}

func TestHealthReportsBaselineAndRules(t *testing.T) {
	k, fs := faultKernel(t)
	fs.EnableText("tool:*", "10%delay(1ms)")
	h := k.Health()
	if h["fault_rules"] != 1 || h["goroutines_baseline"] == nil || h["goroutine_growth"] == nil {
		t.Fatalf("health %v", h)
	}
	fs.Reset()
	if k.Health()["fault_rules"] != 0 {
		t.Fatal("rules listed after Reset")
	}
}

func decodeReply(t *testing.T, b []byte) *kernel.Reply {
	t.Helper()
	var r kernel.Reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	return &r
}

// TestDelayCalibration: a delay(10ms) on a no-op tool is measured, through
// the kernel and a trend histogram, as a p50 within 5% of 10ms.
func TestDelayCalibration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, fs := faultKernel(t)
		fs.EnableText("tool:echo", "delay(10ms)")
		st := metrics.NewStore()
		def, _ := st.Define("call", metrics.Trend, metrics.Time)
		series := st.Series(def, "")
		for range 200 {
			start := time.Now()
			if _, err := k.Invoke(context.Background(), "echo", map[string]any{"input": "x"}, 0); err != nil {
				t.Fatal(err)
			}
			st.Add(series, float64(time.Since(start))/float64(time.Millisecond))
		}
		q, _ := metrics.ParseQuery("call")
		s, _, _ := st.Stats(q, 1)
		if s.Med < 9.5 || s.Med > 10.5 {
			t.Fatalf("p50 of delay(10ms) is %vms", s.Med)
		}
	})
}
