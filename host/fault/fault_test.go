package fault_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/fault"
	"spellhost/tools"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	cases := []struct {
		text string
		want string // Rebuild's form
	}{
		{"50%delay(10ms)", "50%delay(10ms)"},
		{"2*error(timeout)->off", "2*error(timeout)->off"},
		{"return(boom)", "error(boom)"},
		{"sleep(100)", "delay(100ms)"},
		{"delay(10ms, 5ms)", "delay(10ms,5ms)"},
		{"pause", "hang"},
		{"hang(2s)", "hang(2s)"},
		{"10%panic", "10%panic(injected panic)"},
		{"corrupt", "corrupt"},
		{"truncate(3)", "truncate(3)"},
		{"throttle(100)", "throttle(100)"},
		{"down;for=5s", "down;for=5s"},
		{"error(unavailable);after=100", "error(unavailable);after=100"},
		{"slow_cancel(500ms)", "slow_cancel(500ms)"},
		{"slow(30%)", "slow(30%)"},
		{"slow( 2.5% )", "slow(2.5%)"},
		{"50%slow(1000%)->off", "50%slow(1000%)->off"},
		{"leak(1MB)", "leak(1000000B)"},
		{"leak(goroutine)", "leak(goroutine)"},
		{"25%3*error(x)->1*delay(1ms)->off", "25%3*error(x)->1*delay(1ms)->off"},
	}
	check := func(target, text, want string) {
		t.Helper()
		sp, err := fault.Parse(target, text)
		if err != nil {
			t.Errorf("%s=%q: %v", target, text, err)
			return
		}
		sp.Rebuild()
		if sp.Text != want {
			t.Errorf("%s=%q rebuilt as %q, want %q", target, text, sp.Text, want)
		}
	}
	for _, c := range []struct{ text, want string }{
		{"drop", "drop"},
		{"10%reset", "10%reset"},
		{"slow(100)", "slow(100)"},
		{"slow(4KiB)", "slow(4096)"},
		{"partial", "partial"},
		{"partial(10)", "partial(10)"},
		{"status(503)", "status(503)"},
		{"2*status(429)->drop->off;after=1", "2*status(429)->drop->off;after=1"},
		{"1*delay(5ms)->corrupt", "1*delay(5ms)->corrupt"},
		{"error(unavailable)", "error(unavailable)"},
		{"down;for=2s", "down;for=2s"},
		{"hang(1s)", "hang(1s)"},
	} {
		check("net:server", c.text, c.want)
	}
	check("net:*", "drop", "drop")
	for _, c := range cases {
		sp, err := fault.Parse("tool:calculator", c.text)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		sp.Rebuild()
		if sp.Text != c.want {
			t.Errorf("%q rebuilt as %q, want %q", c.text, sp.Text, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct{ target, text, msg string }{
		{"tool:x", "", "no terms"},
		{"tool:x", "explode", `unknown kind "explode"`},
		{"tool:x", "150%error", "percentage"},
		{"tool:x", "0%error", "percentage"},
		{"tool:x", "0*error", "count"},
		{"tool:x", "x*error", "count"},
		{"tool:x", "delay", "delay takes"},
		{"tool:x", "delay(forever)", "duration"},
		{"tool:x", "delay(2h)", "duration"},
		{"tool:x", "delay(10ms", "unclosed"},
		{"tool:x", "error->->off", "empty term"},
		{"tool:x", "off(1)", "no arguments"},
		{"tool:x", "throttle(0)", "calls per second"},
		{"tool:x", "leak(2GiB)", "leak"},
		{"tool:x", "leak", "leak takes"},
		{"tool:x", "truncate(-1)", "byte count"},
		{"tool:x", "slow", "slow takes a percentage"},
		{"tool:x", "slow(30)", "or slow(PERCENT%) at a tool:NAME target"},
		{"tool:x", "slow(0%)", "above 0%"},
		{"tool:x", "slow(-5%)", "above 0%"},
		{"tool:x", "slow(1001%)", "at most 1000%"},
		{"tool:x", "slow(x%)", "want a percentage"},
		{"tool:x", "slow(30%, 5%)", "slow takes"},
		{"task:x", "slow(30%)", "use a tool:NAME target"},
		{"protocol:decode", "1*slow(30%)->off", "use a tool:NAME target"},
		{"tool:x", "error;after=-1", "after"},
		{"tool:x", "error;for=0s", "for="},
		{"tool:x", "error;color=red", "unknown option"},
		{"tool:x", "error;after", "want after"},
		{"nothing", "error", "want tool:NAME"},
		{"disk:x", "error", "unknown boundary"},
		{"tool:[", "error", "bad glob"},
		{"protocol:encode", "error", "protocol:decode"},
		{"net:client", "drop", "net:server"},
		{"net:x*", "drop", "net:server"},
		{"tool:x", "drop", "applies to net:server only"},
		{"task:x", "status(503)", "use net:server or an http:PATTERN target"},
		{"protocol:decode", "slow(10)", "paces a connection: use a net: target"},
		{"tool:*", "50%partial", "applies to net:server only"},
		{"tool:x", "reset", "use net:server or an http:PATTERN target"},
		{"net:server", "panic", "does not apply to net:server"},
		{"net:server", "truncate(3)", "does not apply to net:server"},
		{"net:server", "slow_cancel(1s)", "does not apply"},
		{"net:server", "leak(goroutine)", "does not apply"},
		{"net:server", "drop(1)", "no arguments"},
		{"net:server", "reset(now)", "no arguments"},
		{"net:server", "status", "an HTTP status"},
		{"net:server", "status(200)", "from 400 to 599"},
		{"net:server", "status(600)", "from 400 to 599"},
		{"net:server", "status(5xx)", "from 400 to 599"},
		{"net:server", "slow", "bytes per second"},
		{"net:server", "slow(0)", "from 1 to 1GiB"},
		{"net:server", "slow(fast)", "from 1 to 1GiB"},
		{"net:server", "slow(2GiB)", "from 1 to 1GiB"},
		{"net:server", "partial(-4)", "byte count"},
		{"net:server", "partial(1,2)", "optional byte count"},
	}
	for _, c := range cases {
		_, err := fault.Parse(c.target, c.text)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s=%q: error %v, want one containing %q", c.target, c.text, err, c.msg)
		}
	}
	if _, err := fault.ParseAssignment("tool:x"); err == nil || !strings.Contains(err.Error(), "TARGET=TERMS") {
		t.Errorf("assignment without =: %v", err)
	}
	sp, err := fault.ParseAssignment(" tool:http_request = 20%error(unavailable) ")
	if err != nil || sp.Target != "tool:http_request" || sp.Terms[0].Prob != 0.2 {
		t.Errorf("assignment: %+v %v", sp, err)
	}
}

// hits evaluates target n times and returns how many calls failed.
func hits(s *fault.Set, target string, n int) (failed int) {
	for range n {
		if e := s.Eval(target); e != nil && e.Err != nil {
			failed++
		}
	}
	return failed
}

func TestChainCountsAndOff(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	if _, err := s.EnableText("tool:calc*", "2*off->3*error(timeout)->off"); err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 8 {
		e := s.Eval("tool:calculator")
		got = append(got, e != nil && e.Err != nil)
	}
	want := []bool{false, false, true, true, true, false, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
	if s.Eval("tool:hash_calculator") != nil {
		t.Fatal("the glob matched a tool it does not name")
	}
	l := s.List()
	if len(l) != 1 || l[0].Calls != 8 || l[0].Hits != 3 || l[0].TermHits[1] != 3 || l[0].TermHits[0] != 0 || l[0].Active {
		t.Fatalf("list %+v", l)
	}
}

func TestInjectedErrorType(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:*", "error(timeout)")
	e := s.Eval("tool:calculator")
	if e == nil || tools.TypeOf(e.Err) != tools.TypeInjected || !fault.IsInjected(e.Err) {
		t.Fatalf("effect %+v", e)
	}
	var in *fault.Injected
	if !errors.As(e.Err, &in) || in.As != "timeout" || !strings.Contains(e.Err.Error(), "tool:*=error(timeout)") {
		t.Fatalf("error %v", e.Err)
	}
	if err := e.Before(context.Background()); err != e.Err {
		t.Fatalf("Before returned %v", err)
	}
}

func TestProbabilityIsSeeded(t *testing.T) {
	run := func(seed uint64) []bool {
		s := fault.New(seed)
		defer s.Close()
		s.EnableText("tool:x", "30%error")
		out := make([]bool, 2000)
		for i := range out {
			out[i] = s.Eval("tool:x") != nil
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	n, same := 0, true
	diff := false
	for i := range a {
		if a[i] {
			n++
		}
		if a[i] != b[i] {
			same = false
		}
		if a[i] != c[i] {
			diff = true
		}
	}
	if !same {
		t.Fatal("the same seed gave different hits")
	}
	if !diff {
		t.Fatal("different seeds gave the same hits")
	}
	if n < 500 || n > 700 {
		t.Fatalf("30%% fired %d times in 2000", n)
	}
}

func TestAfterAndFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fault.New(1)
		defer s.Close()
		s.EnableText("tool:x", "down;after=3;for=10s")
		if n := hits(s, "tool:x", 5); n != 2 {
			t.Fatalf("after=3: %d of 5 failed, want 2", n)
		}
		time.Sleep(10 * time.Second)
		if n := hits(s, "tool:x", 5); n != 0 {
			t.Fatalf("for=10s: %d failed after the rule expired", n)
		}
		if s.List()[0].Active {
			t.Fatal("an expired rule is listed active")
		}
	})
}

func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fault.New(1)
		defer s.Close()
		s.EnableText("tool:x", "throttle(10)")
		if n := hits(s, "tool:x", 15); n != 5 {
			t.Fatalf("burst of 15 at 10/s: %d rejected, want 5", n)
		}
		time.Sleep(time.Second)
		if n := hits(s, "tool:x", 10); n != 0 {
			t.Fatalf("after a second: %d rejected, want 0", n)
		}
	})
}

func TestDelayHangAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fault.New(1)
		defer s.Close()
		s.EnableText("tool:slow", "delay(50ms,10ms)")
		start := time.Now()
		if err := s.Eval("tool:slow").Before(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 50*time.Millisecond || d > 60*time.Millisecond {
			t.Fatalf("delay took %v", d)
		}
		s.EnableText("tool:hang", "hang")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start = time.Now()
		err := s.Eval("tool:hang").Before(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("hang ended with %v after %v", err, time.Since(start))
		}
		s.EnableText("tool:brief", "hang(200ms)")
		start = time.Now()
		if err := s.Eval("tool:brief").Before(context.Background()); err != nil || time.Since(start) != 200*time.Millisecond {
			t.Fatalf("hang(200ms): %v after %v", err, time.Since(start))
		}
	})
}

func TestPanic(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:x", "panic(kaboom)")
	defer func() {
		p, ok := recover().(*fault.PanicValue)
		if !ok || p.As != "kaboom" {
			t.Fatalf("recovered %v", p)
		}
	}()
	s.Eval("tool:x").Before(context.Background())
	t.Fatal("no panic")
}

func TestCorruptAndTruncate(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:x", "corrupt")
	in := map[string]any{"result": 14.0, "ok": true, "text": "hello", "list": []any{"ab", 2.0}}
	out := s.Eval("tool:x").After(in).(map[string]any)
	if out["result"] != 15.0 || out["ok"] != false || out["text"] == "hello" || len(out["text"].(string)) != 5 {
		t.Fatalf("corrupt: %v", out)
	}
	if in["result"] != 14.0 || in["text"] != "hello" {
		t.Fatal("corrupt changed the original result")
	}
	s.EnableText("tool:y", "truncate")
	out = s.Eval("tool:y").After(in).(map[string]any)
	if out["text"] != "he" || len(out["list"].([]any)) != 1 || out["result"] != 14.0 {
		t.Fatalf("truncate: %v", out)
	}
	s.EnableText("protocol:decode", "truncate(5)")
	if b := s.Eval("protocol:decode").AlterBytes([]byte(`{"command":"list"}`)); string(b) != `{"com` {
		t.Fatalf("truncated request %q", b)
	}
	var nilEff *fault.Effect
	if nilEff.After(in) == nil || nilEff.Before(context.Background()) != nil || nilEff.Alters() {
		t.Fatal("a nil effect acts")
	}
}

func TestLeakHeldAndReleased(t *testing.T) {
	s := fault.New(1)
	s.EnableText("tool:x", "leak(1MiB)")
	s.EnableText("tool:g", "2*leak(goroutine)->off")
	for range 3 {
		s.Eval("tool:x")
		s.Eval("tool:g")
	}
	l := s.List()
	if l[0].LeakedBytes != 3<<20 || l[1].ParkedGoroutines != 2 {
		t.Fatalf("list %+v", l)
	}
	if !s.Disable("tool:x") || s.Disable("tool:x") {
		t.Fatal("Disable does not report the rule")
	}
	s.Close() // releases the parked goroutines; goleak checks they ended
	if s.Active() || len(s.List()) != 0 {
		t.Fatal("rules survive Close")
	}
}

func TestSlowCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fault.New(1)
		defer s.Close()
		s.EnableText("tool:x", "slow_cancel(300ms)")
		ctx, cancel := context.WithCancel(context.Background())
		tctx, stop := s.Eval("tool:x").ToolContext(ctx)
		defer stop()
		cancel()
		start := time.Now()
		<-tctx.Done()
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Fatalf("the tool saw the cancel after %v, want 300ms", d)
		}
		// Stopping before the caller cancels ends the watcher at once.
		tctx2, stop2 := s.Eval("tool:x").ToolContext(context.Background())
		stop2()
		<-tctx2.Done()
	})
}

func TestSlowStretchesTheToolsRunTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fault.New(1)
		defer s.Close()
		s.EnableText("tool:x", "slow(30%)")
		s.EnableText("tool:x*", "slow(20%)") // a second rule on the same call adds up
		e := s.Eval("tool:x")
		if e == nil || e.Err != nil || e.Slow != 0.5 {
			t.Fatalf("effect %+v", e)
		}
		start := time.Now()
		if err := e.Stretch(context.Background(), time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Fatalf("slow(50%%) of a 1s run waited %v, want 500ms", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start = time.Now()
		err := e.Stretch(ctx, time.Second)
		if d := time.Since(start); d != 100*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a stretch past its context: %v after %v, want the deadline after 100ms", err, d)
		}
		var none *fault.Effect
		if none.Stretch(context.Background(), time.Hour) != nil || (&fault.Effect{}).Stretch(context.Background(), time.Hour) != nil {
			t.Fatal("an effect without slow failed the call")
		}
		if time.Since(start) != 100*time.Millisecond {
			t.Fatal("an effect without slow stretched the call")
		}
	})
}

// A stretch too short for a timer is spent working: it lasts at least its
// length (real time: a busy wait does not advance a synctest clock).
func TestSlowShortStretchIsBusy(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:x", "slow(50%)")
	e := s.Eval("tool:x")
	start := time.Now()
	if err := e.Stretch(context.Background(), 80*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 40*time.Microsecond {
		t.Fatalf("slow(50%%) of 80µs lasted %v, want at least 40µs", d)
	}
	// Past its context's end, even a short stretch fails the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Stretch(ctx, 80*time.Microsecond); !errors.Is(err, context.Canceled) {
		t.Fatalf("a short stretch after the context ended: %v", err)
	}
}

func TestReplaceSameTarget(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:x", "error")
	s.EnableText("tool:x", "off")
	if len(s.List()) != 1 || s.Eval("tool:x") != nil {
		t.Fatalf("enable did not replace: %+v", s.List())
	}
	s.Reset()
	if s.Active() || s.Eval("tool:x") != nil {
		t.Fatal("Reset left rules")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"50%delay(10ms)", "2*error(timeout)->off", "down;for=5s;after=2",
		"leak(goroutine)", "throttle(3)", "slow(30%)", "10%3*panic(x)->off", "%*()->;=", "delay(1,2,3)",
		"drop", "10%reset", "slow(4KiB)", "partial", "partial(7)", "status(503)", "2*status(429)->drop->off",
		"slow(0)", "status(99999999999999999999)", "partial(-1)", "slow(1e400)"} {
		f.Add(s)
	}
	f.Add("status(503)->reset")
	f.Fuzz(func(t *testing.T, text string) {
		// The same text at a call target and at the transport targets:
		// the kinds that apply differ, the grammar does not.
		for _, target := range []string{"tool:x", "net:server", "http:*"} {
			sp, err := fault.Parse(target, text)
			if err != nil {
				continue
			}
			sp.Rebuild()
			again, err := fault.Parse(target, sp.Text)
			if err != nil {
				t.Fatalf("%s=%q rebuilt as %q, which does not parse: %v", target, text, sp.Text, err)
			}
			again.Rebuild()
			if again.Text != sp.Text {
				t.Fatalf("%s=%q: rebuilt %q then %q", target, text, sp.Text, again.Text)
			}
		}
	})
}

// TestNetEffects: the transport kinds reach the effect the server applies,
// each counted as a hit of its rule.
func TestNetEffects(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("net:server", "1*drop->1*reset->1*status(503)->1*slow(100)->1*partial(10)->1*partial->off")
	e := s.Eval("net:server")
	if e == nil || !e.Drop || e.Reset || e.Err != nil || e.Rule != "net:server=1*drop->1*reset->1*status(503)->1*slow(100)->1*partial(10)->1*partial->off" {
		t.Fatalf("drop: %+v", e)
	}
	if e = s.Eval("net:server"); e == nil || !e.Reset || e.Drop {
		t.Fatalf("reset: %+v", e)
	}
	e = s.Eval("net:server")
	var in *fault.Injected
	if e == nil || e.Status != 503 || !errors.As(e.Err, &in) || in.As != "status 503" || tools.TypeOf(e.Err) != tools.TypeInjected {
		t.Fatalf("status: %+v", e)
	}
	if e = s.Eval("net:server"); e == nil || e.SlowRate != 100 || e.Partial != -1 || e.Err != nil {
		t.Fatalf("slow: %+v", e)
	}
	if e = s.Eval("net:server"); e == nil || e.Partial != 10 || e.SlowRate != 0 {
		t.Fatalf("partial(10): %+v", e)
	}
	if e = s.Eval("net:server"); e == nil || e.Partial != 0 {
		t.Fatalf("partial: %+v", e)
	}
	if e = s.Eval("net:server"); e != nil {
		t.Fatalf("after the chain: %+v", e)
	}
	if l := s.List(); l[0].Calls != 7 || l[0].Hits != 6 || l[0].Active {
		t.Fatalf("list %+v", l)
	}
	// Effects of several rules add up; a sealing one stops the rest.
	s.Reset()
	s.EnableText("net:*", "delay(5ms)")
	s.EnableText("net:server", "corrupt")
	if e = s.Eval("net:server"); e == nil || e.Delay != 5*time.Millisecond || !e.Corrupt || e.Drop {
		t.Fatalf("delay and corrupt: %+v", e)
	}
	// A table-built spec meets the same kind check as text.
	if err := s.Enable(&fault.Spec{Target: "tool:x", Terms: []fault.Term{{Kind: fault.Drop, Prob: 1}}, Text: "drop"}); err == nil ||
		!strings.Contains(err.Error(), "net:server only") {
		t.Fatalf("drop at a tool target enabled: %v", err)
	}
}

// TestNetProbabilityIsSeeded: a 30% drop fires on the same calls for the
// same seed.
func TestNetProbabilityIsSeeded(t *testing.T) {
	run := func(seed uint64) (out [200]bool) {
		s := fault.New(seed)
		defer s.Close()
		s.EnableText("net:server", "30%drop")
		for i := range out {
			e := s.Eval("net:server")
			out[i] = e != nil && e.Drop
		}
		return out
	}
	if run(3) != run(3) || run(3) == run(4) {
		t.Fatal("drop decisions do not follow the seed")
	}
}

func TestPushRestoresThePreviousRule(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:x", "1*error->off")
	if hits(s, "tool:x", 1) != 1 {
		t.Fatal("the first rule did not fire")
	}
	sp, _ := fault.Parse("tool:x", "down")
	restore, err := s.Push(sp)
	if err != nil {
		t.Fatal(err)
	}
	if hits(s, "tool:x", 3) != 3 {
		t.Fatal("the pushed rule did not fire")
	}
	restore()
	restore() // idempotent
	l := s.List()
	if len(l) != 1 || l[0].Rule != "1*error->off" || l[0].Calls != 1 || hits(s, "tool:x", 2) != 0 {
		t.Fatalf("restored %+v", l)
	}
}

func TestAllListsRemovedRules(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	s.EnableText("tool:a", "error")
	hits(s, "tool:a", 2)
	s.Disable("tool:a")
	s.EnableText("tool:b", "down")
	s.EnableText("tool:b", "off") // replaces: the down rule is retired
	all := s.All()
	if len(all) != 3 || all[0].Target != "tool:a" || all[0].Hits != 2 || all[0].Active ||
		all[1].Rule != "down" || all[2].Rule != "off" {
		t.Fatalf("all %+v", all)
	}
}

// TestErrorRateCalibration: error at 20% fires on 20% of calls, within 2
// points, over 10,000 calls.
func TestErrorRateCalibration(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s := fault.New(seed)
		s.EnableText("tool:noop", "20%error(unavailable)")
		n := hits(s, "tool:noop", 10000)
		s.Close()
		if rate := float64(n) / 10000; rate < 0.18 || rate > 0.22 {
			t.Errorf("seed %d: 20%% error fired on %.2f%% of calls", seed, 100*rate)
		}
	}
}
