package fault_test

import (
	"strings"
	"testing"

	"spellhost/host/fault"
)

func TestParseHTTPKinds(t *testing.T) {
	for text, want := range map[string]string{
		"status(503)":               "status(503)",
		"10%status(429)->off":       "10%status(429)",
		"reset":                     "reset",
		"2*reset->delay(5ms)":       "2*reset->delay(5ms)",
		"error(timeout);after=3":    "error(timeout);after=3",
		"truncate(10)->corrupt":     "truncate(10)->corrupt",
		"down;for=1s":               "down;for=1s",
		"throttle(100)->leak(1KiB)": "throttle(100)->leak(1024B)",
	} {
		sp, err := fault.Parse("http:*", text)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		sp.Rebuild()
		if !strings.HasPrefix(sp.Text, want) {
			t.Errorf("%q rebuilt as %q, want %q", text, sp.Text, want)
		}
	}
	for _, c := range []struct{ target, text, msg string }{
		{"http:*", "status", "status takes an HTTP status code"},
		{"http:*", "status(99)", "from 100 to 599"},
		{"http:*", "status(600)", "from 100 to 599"},
		{"http:*", "status(abc)", "from 100 to 599"},
		{"http:*", "reset(1)", "no arguments"},
		{"tool:x", "status(500)", "use net:server or an http:PATTERN target"},
		{"task:x", "reset", "use net:server or an http:PATTERN target"},
		{"http:GET", "panic", "panic acts inside a tool call"},
		{"http:GET", "slow_cancel(1s)", "slow_cancel acts inside a tool call"},
		{"http:GET", "slow(10%)", "use a tool:NAME target"},
		{"http:[", "reset", "bad glob"},
		{"http:", "reset", "http:PATTERN"},
	} {
		if _, err := fault.Parse(c.target, c.text); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s=%q: error %v, want one containing %q", c.target, c.text, err, c.msg)
		}
	}
}

func TestEvalAnyActsOncePerCall(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	// Each rule matches a different name of the same request; each must be
	// stepped once per request, so the counts advance by one.
	if _, err := s.EnableText("http:*", "1*off->status(500)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnableText("http:127.0.0.1:*", "2*off->reset"); err != nil {
		t.Fatal(err)
	}
	names := []string{"http:GET", "http:127.0.0.1:8080", "http:http://127.0.0.1:8080/x"}
	if e := s.EvalAny(names...); e != nil {
		t.Fatalf("first call: effect %+v, want none", e)
	}
	// Second call: the first rule's off term is spent, so it answers 500 and
	// seals the call; the second rule is not consulted.
	if e := s.EvalAny(names...); e == nil || e.Status != 500 || e.Reset {
		t.Fatalf("second call: effect %+v, want status 500", e)
	}
	l := s.List()
	if l[0].Calls != 2 || l[1].Calls != 1 {
		t.Fatalf("calls %d and %d, want 2 and 1 (one step per call)", l[0].Calls, l[1].Calls)
	}
	s.Disable("http:*")
	if e := s.EvalAny(names...); e != nil {
		t.Fatalf("third call: effect %+v, want none (the host rule's second off)", e)
	}
	if e := s.EvalAny(names...); e == nil || !e.Reset || !strings.Contains(e.Rule, "http:127.0.0.1:*=") {
		t.Fatalf("fourth call: effect %+v, want a reset by the host rule", e)
	}
	if e := s.EvalAny("http:POST", "http:10.0.0.1:80", "http:/login"); e != nil {
		t.Fatalf("a request no rule names: effect %+v", e)
	}
	var nilSet *fault.Set
	if nilSet.EvalAny(names...) != nil {
		t.Fatal("a nil set injected")
	}
}

func TestEvalAnyNamesTheMatchedTarget(t *testing.T) {
	s := fault.New(1)
	defer s.Close()
	if _, err := s.EnableText("http:/users/*", "error(timeout)"); err != nil {
		t.Fatal(err)
	}
	e := s.EvalAny("http:GET", "http:127.0.0.1:80", "http:/users/7")
	if e == nil || e.Err == nil || !strings.Contains(e.Err.Error(), "http:/users/*=error(timeout)") {
		t.Fatalf("effect %+v", e)
	}
	if !fault.IsInjected(e.Err) {
		t.Fatalf("%v is not injected", e.Err)
	}
}
