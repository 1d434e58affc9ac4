package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/kernel"
	"spellhost/tools"
	"spellhost/tools/data"
	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTools are tools that misbehave on purpose.
func testTools() []tools.Tool {
	return []tools.Tool{
		data.Calculator(),
		tools.New(tools.Spec{Name: "sleeper", Category: "test", Description: "sleeps for ms or until cancelled",
			Params: []tools.Param{{Name: "ms", Type: tools.Integer, Required: true, Description: "milliseconds"}}},
			func(ctx context.Context, p tools.Params) (any, error) {
				select {
				case <-time.After(time.Duration(p.Int("ms")) * time.Millisecond):
					return map[string]any{"slept": p.Int("ms")}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}),
		tools.New(tools.Spec{Name: "stubborn", Category: "test", Description: "ignores cancellation for ms",
			Params: []tools.Param{{Name: "ms", Type: tools.Integer, Required: true, Description: "milliseconds"}}},
			func(ctx context.Context, p tools.Params) (any, error) {
				time.Sleep(time.Duration(p.Int("ms")) * time.Millisecond)
				return map[string]any{}, nil
			}),
		tools.New(tools.Spec{Name: "panicker", Category: "test", Description: "panics"},
			func(ctx context.Context, p tools.Params) (any, error) {
				var m map[string]int
				m["boom"] = 1 // nil map write
				return nil, nil
			}),
		tools.New(tools.Spec{Name: "failer", Category: "test", Description: "fails with an execution error"},
			func(ctx context.Context, p tools.Params) (any, error) {
				return nil, tools.Failed("disk on fire")
			}),
		tools.New(tools.Spec{Name: "echo", Category: "test", Description: "returns its input",
			Params: []tools.Param{{Name: "input", Type: tools.String, Required: true, Description: "text"}}},
			func(ctx context.Context, p tools.Params) (any, error) {
				return map[string]any{"output": p.String("input")}, nil
			}),
	}
}

func newKernel(t testing.TB) *kernel.Kernel {
	t.Helper()
	reg, err := tools.NewRegistry(testTools()...)
	if err != nil {
		t.Fatal(err)
	}
	k := kernel.New(reg, kernel.Options{})
	t.Cleanup(func() { k.Close() })
	return k
}

func TestInvokeCalculator(t *testing.T) {
	k := newKernel(t)
	res, err := k.Invoke(context.Background(), "calculator", map[string]any{"input": "2+3*4"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.(map[string]any)["result"]; got != 14.0 {
		t.Fatalf("result = %v, want 14", got)
	}
}

func TestInvokeErrors(t *testing.T) {
	k := newKernel(t)
	cases := []struct {
		name   string
		tool   string
		params map[string]any
		want   tools.ErrorType
		msg    string
	}{
		{"unknown tool", "nope", nil, tools.TypeNotFound, `tool "nope" not found`},
		{"typo suggests", "calculater", nil, tools.TypeNotFound, `did you mean "calculator"`},
		{"missing required", "echo", map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{"wrong type", "echo", map[string]any{"input": 5.0}, tools.TypeValidation, `parameter "input": expected string, got number`},
		{"unknown param", "echo", map[string]any{"input": "x", "inptu": "y"}, tools.TypeValidation, `unknown parameter "inptu"`},
		{"bad enum", "calculator", map[string]any{"input": "1", "operation": "eval"}, tools.TypeValidation, `unknown value "eval"`},
		{"tool failure", "failer", nil, tools.TypeExecution, "tool failer: disk on fire"},
		{"division by zero", "calculator", map[string]any{"input": "1/0"}, tools.TypeExecution, "division by zero"},
		{"panic", "panicker", nil, tools.TypeInternal, "panic: assignment to entry in nil map"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := k.Invoke(context.Background(), c.tool, c.params, 0)
			if tools.TypeOf(err) != c.want || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v (%s), want %s containing %q", err, tools.TypeOf(err), c.want, c.msg)
			}
		})
	}
	if k.Stats().Panics != 1 {
		t.Fatalf("panics = %d, want 1", k.Stats().Panics)
	}
	// The kernel keeps serving after the panic.
	if _, err := k.Invoke(context.Background(), "calculator", map[string]any{"input": "1"}, 0); err != nil {
		t.Fatal(err)
	}
}

func TestPanicNamesSite(t *testing.T) {
	k := newKernel(t)
	_, err := k.Invoke(context.Background(), "panicker", nil, 0)
	if !strings.Contains(err.Error(), "kernel_test.go") {
		t.Fatalf("panic error %q does not name the site", err)
	}
}

func TestInvokeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKernel(t)
		start := time.Now()
		_, err := k.Invoke(context.Background(), "sleeper", map[string]any{"ms": 5000}, 50*time.Millisecond)
		if !errors.Is(err, tools.ErrTimeout) {
			t.Fatalf("err = %v, want timeout", err)
		}
		if want := "tool sleeper: timed out after 50ms"; err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("answered after %v, want 50ms", d)
		}
		synctest.Wait() // the tool saw its context end and returned
		if s := k.Stats(); s.Running != 0 || s.Abandoned != 0 {
			t.Fatalf("stats after timeout: %+v", s)
		}
	})
}

func TestInvokeDefaultTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKernel(t)
		start := time.Now()
		_, err := k.Invoke(context.Background(), "sleeper", map[string]any{"ms": 60_000}, 0)
		if !errors.Is(err, tools.ErrTimeout) || time.Since(start) != kernel.DefaultTimeout {
			t.Fatalf("err %v after %v, want timeout after %v", err, time.Since(start), kernel.DefaultTimeout)
		}
	})
}

func TestStubbornToolIsAbandonedThenReclaimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKernel(t)
		_, err := k.Invoke(context.Background(), "stubborn", map[string]any{"ms": 1000}, 10*time.Millisecond)
		if !errors.Is(err, tools.ErrTimeout) {
			t.Fatalf("err = %v, want timeout", err)
		}
		if s := k.Stats(); s.Abandoned != 1 || s.Running != 1 {
			t.Fatalf("while the tool runs on: %+v, want 1 abandoned", s)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := k.Stats(); s.Abandoned != 0 || s.Running != 0 {
			t.Fatalf("after the tool returned: %+v", s)
		}
	})
}

func TestInvokeCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKernel(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := k.Invoke(ctx, "sleeper", map[string]any{"ms": 5000}, 0)
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("err = %v, want cancelled", err)
		}
		// Already-cancelled contexts fail before the tool starts.
		_, err = k.Invoke(ctx, "calculator", map[string]any{"input": "1"}, 0)
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("err = %v, want cancelled", err)
		}
	})
}

func TestCallerDeadlineCauseIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKernel(t)
		ctx, cancel := context.WithTimeoutCause(context.Background(), 30*time.Millisecond,
			&kernel.TimeoutError{What: "iteration", Limit: 30 * time.Millisecond})
		defer cancel()
		_, err := k.Invoke(ctx, "sleeper", map[string]any{"ms": 5000}, time.Second)
		if err == nil || err.Error() != "iteration: timed out after 30ms" {
			t.Fatalf("err = %v, want the iteration's limit named", err)
		}
	})
}

func TestClosedKernel(t *testing.T) {
	k := newKernel(t)
	k.Close()
	if _, err := k.Invoke(context.Background(), "calculator", map[string]any{"input": "1"}, 0); !errors.Is(err, kernel.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if k.Health()["status"] != "closed" {
		t.Fatal("health does not report closed")
	}
}

// TestConcurrentRegistryChanges runs lookups, invocations, lists and
// searches while tools come and go. Run with -race.
func TestConcurrentRegistryChanges(t *testing.T) {
	k := newKernel(t)
	reg := k.Registry()
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch (w + i) % 4 {
				case 0:
					res, err := k.Invoke(ctx, "calculator", map[string]any{"input": fmt.Sprintf("%d+1", i)}, 0)
					if err != nil || res.(map[string]any)["result"] != float64(i+1) {
						t.Errorf("invoke: %v %v", res, err)
						return
					}
				case 1:
					if rep := k.Do(ctx, &kernel.Request{Command: "list"}); rep.Status != "ok" {
						t.Errorf("list: %+v", rep.Error)
						return
					}
				case 2:
					_, err := k.Invoke(ctx, "volatile", nil, 0)
					if err != nil && tools.TypeOf(err) != tools.TypeNotFound {
						t.Errorf("volatile: %v", err)
						return
					}
				case 3:
					k.Do(ctx, &kernel.Request{Command: "search", Query: "vola"})
				}
			}
		}()
	}
	for i := range 500 {
		tool := tools.New(tools.Spec{Name: "volatile", Category: "test", Description: fmt.Sprint("version ", i)},
			func(context.Context, tools.Params) (any, error) { return map[string]any{}, nil })
		if err := reg.Register(tool); err != nil {
			t.Fatal(err)
		}
		if err := reg.Unregister("volatile"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if reg.Len() != len(testTools()) {
		t.Fatalf("registry has %d tools after churn, want %d", reg.Len(), len(testTools()))
	}
}

func TestHealth(t *testing.T) {
	k := newKernel(t)
	h := k.Health()
	for _, key := range []string{"status", "tools", "running", "abandoned", "goroutines", "heap_bytes", "uptime_s"} {
		if _, ok := h[key]; !ok {
			t.Errorf("health lacks %q", key)
		}
	}
	if h["tools"] != len(testTools()) || h["status"] != "ok" {
		t.Fatalf("health = %v", h)
	}
	if _, err := json.Marshal(h); err != nil {
		t.Fatal(err)
	}
}

func testPerm(t testing.TB) *perm.Set {
	t.Helper()
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	return p
}
