package fault

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"spellhost/tools"
)

// Set holds the active rules. It is safe for concurrent use; with no rules
// enabled, Eval costs one atomic load.
type Set struct {
	seed  uint64
	mu    sync.Mutex
	rules []*rule
	snap  atomic.Pointer[[]*rule]
	// parked goroutines of leak(goroutine) wait on their rule's release
	// channel; wg lets Close wait for them.
	wg sync.WaitGroup
	// retired keeps the last rules removed, for the end-of-run listing.
	retired []Info
}

// maxRetired bounds the listing of removed rules.
const maxRetired = 256

// New returns an empty set whose randomness derives from seed.
func New(seed uint64) *Set { return &Set{seed: seed} }

type rule struct {
	spec    *Spec
	id      int
	mu      sync.Mutex
	enabled time.Time
	rng     *rand.Rand
	seen    int64
	term    int // current term
	fired   int // times the current term fired
	hits    []int64
	limits  []*rate.Limiter
	// leaks
	held    [][]byte
	heldN   int64
	parked  int
	release chan struct{}
	// matches caches the glob's answer per target (bounded): most calls
	// name a target seen before.
	matches  sync.Map // string -> bool
	nmatches atomic.Int32
}

const maxMatchCache = 1024

// matchTarget reports whether the rule's target glob matches target.
func (r *rule) matchTarget(target string) bool {
	if v, ok := r.matches.Load(target); ok {
		return v.(bool)
	}
	ok, _ := path.Match(r.spec.Target, target)
	if r.nmatches.Load() < maxMatchCache {
		r.nmatches.Add(1)
		r.matches.Store(target, ok)
	}
	return ok
}

// Enable adds a rule. A rule for a target that already has one replaces it
// (its leaks are released).
func (s *Set) Enable(sp *Spec) error {
	_, err := s.enable(sp, true)
	return err
}

// Push enables a rule for a while: restore removes it and puts back the
// rule the target had before, with its counts as they were.
func (s *Set) Push(sp *Spec) (restore func(), err error) {
	prev, err := s.enable(sp, false)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.Disable(sp.Target)
			if prev != nil {
				s.mu.Lock()
				s.publish(append(slices.Clone(s.rules), prev))
				s.mu.Unlock()
			}
		})
	}, nil
}

func (s *Set) enable(sp *Spec, release bool) (prev *rule, err error) {
	if err := CheckTarget(sp.Target); err != nil {
		return nil, err
	}
	if len(sp.Terms) == 0 {
		return nil, perr(sp.Text, "no terms")
	}
	if err := checkKinds(sp.Target, sp.Text, sp.Terms); err != nil {
		return nil, err
	}
	r := &rule{spec: sp, enabled: time.Now(), hits: make([]int64, len(sp.Terms)),
		limits: make([]*rate.Limiter, len(sp.Terms)), release: make(chan struct{})}
	for i, t := range sp.Terms {
		if t.Kind == Throttle {
			burst := max(1, int(t.N))
			r.limits[i] = rate.NewLimiter(rate.Limit(t.N), burst)
		}
	}
	h := fnv.New64a()
	h.Write([]byte(sp.Target))
	r.rng = rand.New(rand.NewPCG(s.seed, h.Sum64()))
	s.mu.Lock()
	defer s.mu.Unlock()
	rules := make([]*rule, 0, len(s.rules)+1)
	for _, old := range s.rules {
		if old.spec.Target == sp.Target {
			if release {
				s.retire(old)
				old.releaseLeaks()
			}
			prev = old
			continue
		}
		rules = append(rules, old)
	}
	r.id = len(rules)
	rules = append(rules, r)
	s.publish(rules)
	return prev, nil
}

// EnableText parses TERMS for target and enables the rule.
func (s *Set) EnableText(target, terms string) (*Spec, error) {
	sp, err := Parse(target, terms)
	if err != nil {
		return nil, err
	}
	return sp, s.Enable(sp)
}

// Disable removes the rule for target (as written when enabled) and
// releases what it leaked. It reports whether there was one.
func (s *Set) Disable(target string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found bool
	rules := make([]*rule, 0, len(s.rules))
	for _, r := range s.rules {
		if r.spec.Target == target {
			s.retire(r)
			r.releaseLeaks()
			found = true
			continue
		}
		rules = append(rules, r)
	}
	s.publish(rules)
	return found
}

// Reset removes every rule and releases every leak.
func (s *Set) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		s.retire(r)
		r.releaseLeaks()
	}
	s.publish(nil)
}

// Close resets the set and waits for the goroutines leak(goroutine)
// parked to end.
func (s *Set) Close() {
	s.Reset()
	s.wg.Wait()
}

func (s *Set) publish(rules []*rule) {
	s.rules = rules
	if len(rules) == 0 {
		s.snap.Store(nil)
		return
	}
	cp := append([]*rule(nil), rules...)
	s.snap.Store(&cp)
}

// Active reports whether any rule is enabled.
func (s *Set) Active() bool { return s != nil && s.snap.Load() != nil }

// Info describes one rule for listings and reports.
type Info struct {
	Target string `json:"target"`
	Rule   string `json:"rule"`
	// Calls is how many calls the rule saw; Hits how many times it fired,
	// in total and per term.
	Calls    int64   `json:"calls"`
	Hits     int64   `json:"hits"`
	TermHits []int64 `json:"term_hits"`
	// Active is false once the rule's chain ran out or its duration passed.
	Active bool `json:"active"`
	// LeakedBytes and ParkedGoroutines are what leak terms hold.
	LeakedBytes      int64 `json:"leaked_bytes,omitempty"`
	ParkedGoroutines int   `json:"parked_goroutines,omitempty"`
}

// List returns the rules in the order they were enabled.
func (s *Set) List() []Info {
	if s == nil {
		return nil
	}
	p := s.snap.Load()
	if p == nil {
		return []Info{}
	}
	out := make([]Info, 0, len(*p))
	now := time.Now()
	for _, r := range *p {
		out = append(out, r.info(now))
	}
	return out
}

// live reports whether the rule can still fire. r.mu is held.
func (r *rule) live(now time.Time) bool {
	if r.spec.For > 0 && now.Sub(r.enabled) >= r.spec.For {
		return false
	}
	for i := r.term; i < len(r.spec.Terms); i++ {
		if r.spec.Terms[i].Kind != Off {
			return true
		}
	}
	return false
}

// retire records a removed rule's final counts. s.mu is held.
func (s *Set) retire(r *rule) {
	in := r.info(time.Now())
	in.Active = false
	if len(s.retired) == maxRetired {
		s.retired = append(s.retired[:0], s.retired[1:]...)
	}
	s.retired = append(s.retired, in)
}

// All returns the rules removed during the run (the last 256) followed by
// the enabled ones: what the summary lists.
func (s *Set) All() []Info {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	out := slices.Clone(s.retired)
	s.mu.Unlock()
	return append(out, s.List()...)
}

func (r *rule) info(now time.Time) Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Info{Target: r.spec.Target, Rule: r.spec.Text, Calls: r.seen,
		TermHits: append([]int64(nil), r.hits...), Active: r.live(now),
		LeakedBytes: r.heldN, ParkedGoroutines: r.parked}
	for _, h := range r.hits {
		in.Hits += h
	}
	return in
}

func (r *rule) releaseLeaks() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held, r.heldN = nil, 0
	select {
	case <-r.release:
	default:
		close(r.release)
	}
	r.parked = 0
}

// Injected is the cause inside every injected error: which rule fired and
// what failure it stands for.
type Injected struct {
	Rule string // "tool:calculator=2*error(timeout)"
	// As is what the failure pretends to be: an error type such as
	// "timeout", a message, "down", "throttled" or "panic".
	As string
}

func (e *Injected) Error() string { return fmt.Sprintf("injected %s (fault %s)", e.As, e.Rule) }

// PanicValue is what an injected panic panics with, so the recovering
// kernel can tell it from a real one.
type PanicValue struct{ Injected }

func (p *PanicValue) String() string { return p.Error() }

// IsInjected reports whether err came from a fault rule.
func IsInjected(err error) bool {
	var in *Injected
	return errors.As(err, &in)
}

// Effect is what the rules decided for one call. A nil Effect does nothing.
type Effect struct {
	target string
	Rule   string
	// Err fails the call (type injected) before the tool runs.
	Err error
	// Delay is waited before the call (bounded by its context).
	Delay time.Duration
	// Hang waits until the call's context ends, or HangFor when set.
	Hang    bool
	HangFor time.Duration
	// Panic panics inside the tool call with a *PanicValue.
	Panic *PanicValue
	// Corrupt and Truncate alter the result (Truncate < 0: no truncation;
	// 0: to half).
	Corrupt  bool
	Truncate int
	// SlowCancel delays the tool's view of cancellation.
	SlowCancel time.Duration
	// Slow is the share of the tool's own run time that the call lasts
	// longer (0.3 for slow(30%)); see Stretch.
	Slow float64

	// The transport effects, at net: targets. Drop closes the connection
	// without a reply; Reset closes it with a TCP reset. Status answers
	// with that HTTP status (and Err) instead of handling the request.
	// SlowRate paces the reply at that many bytes per second (0: no
	// pacing). Partial cuts the reply's body to that many bytes (0: half;
	// < 0: no cut) and closes the connection.
	//
	// At http: targets, Status answers a VU's request with that status
	// (no Err: it is a response, not a failure) and Reset fails it as a
	// connection reset by the server would, neither touching the network.
	Drop, Reset bool
	Status      int
	SlowRate    float64
	Partial     int

	mutSeed uint64
}

// Eval decides what the rules do to one call at target ("tool:calculator",
// "task:fn", "protocol:decode"), advancing their counters. It returns nil
// when no rule fires.
func (s *Set) Eval(target string) *Effect {
	if s == nil {
		return nil
	}
	p := s.snap.Load()
	if p == nil {
		return nil
	}
	var eff *Effect
	var now time.Time // read only when a rule needs the time
	for _, r := range *p {
		if !r.matchTarget(target) {
			continue
		}
		stop := s.step(r, target, &now, &eff)
		if stop {
			break
		}
	}
	return eff
}

// EvalAny is Eval for a call known by several targets: an HTTP request is
// "http:GET", "http:127.0.0.1:8080" and "http:" followed by its name tag.
// A rule acts once on the call when its pattern matches any of them; the
// first matching target is the one injected errors name.
func (s *Set) EvalAny(targets ...string) *Effect {
	if s == nil {
		return nil
	}
	p := s.snap.Load()
	if p == nil {
		return nil
	}
	var eff *Effect
	var now time.Time
	for _, r := range *p {
		for _, target := range targets {
			if !r.matchTarget(target) {
				continue
			}
			if s.step(r, target, &now, &eff) {
				return eff
			}
			break
		}
	}
	return eff
}

// step lets one rule act on a call; it reports whether the call's fate is
// sealed (later rules are not consulted).
func (s *Set) step(r *rule, target string, nowp *time.Time, effp **Effect) bool {
	clock := func() time.Time {
		if nowp.IsZero() {
			*nowp = time.Now()
		}
		return *nowp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spec.For > 0 && clock().Sub(r.enabled) >= r.spec.For {
		return false
	}
	r.seen++
	if r.seen <= int64(r.spec.After) {
		return false
	}
	if r.term >= len(r.spec.Terms) {
		return false
	}
	i := r.term
	t := r.spec.Terms[i]
	if t.Prob < 1 && r.rng.Float64() >= t.Prob {
		return false
	}
	if t.Kind == Throttle && r.limits[i].AllowN(clock(), 1) {
		return false
	}
	if t.Kind != Off {
		r.hits[i]++
	}
	r.fired++
	if t.Count > 0 && r.fired >= t.Count {
		r.term++
		r.fired = 0
	}
	if t.Kind == Off {
		return false
	}
	if *effp == nil {
		*effp = &Effect{target: target, Truncate: -1, Partial: -1}
	}
	e := *effp
	name := r.spec.Target + "=" + r.spec.Text
	if e.Rule == "" {
		e.Rule = name
	}
	fail := func(as string) bool {
		e.Rule = name
		e.Err = &tools.Error{Type: tools.TypeInjected, Op: target, Err: &Injected{Rule: name, As: as}}
		return true
	}
	switch t.Kind {
	case Error:
		return fail(t.Arg)
	case Down:
		return fail("down")
	case Throttle:
		return fail(fmt.Sprintf("throttled (over %g calls/s)", t.N))
	case Panic:
		e.Rule = name
		e.Panic = &PanicValue{Injected{Rule: name, As: t.Arg}}
		return true
	case Delay:
		d := t.Dur
		if t.Jitter > 0 {
			d += time.Duration(r.rng.Int64N(int64(t.Jitter) + 1))
		}
		e.Delay += d
	case Hang:
		e.Hang, e.HangFor = true, t.Dur
		return true
	case Corrupt:
		e.Corrupt = true
		e.mutSeed = r.rng.Uint64()
	case Truncate:
		e.Truncate = int(t.N)
	case SlowCancel:
		e.SlowCancel = t.Dur
	case Slow:
		if t.Percent {
			e.Slow += t.N / 100
		} else {
			e.SlowRate = t.N
		}
	case Drop, Reset:
		e.Rule = name
		e.Drop, e.Reset = t.Kind == Drop, t.Kind == Reset
		return true
	case Status:
		e.Status = int(t.N)
		if strings.HasPrefix(target, "http:") {
			e.Rule = name
			return true
		}
		return fail(fmt.Sprintf("status %d", e.Status))
	case Partial:
		e.Partial = int(t.N)
	case Leak:
		if t.Goroutine {
			r.parked++
			s.wg.Add(1)
			rel := r.release
			go func() {
				defer s.wg.Done()
				<-rel
			}()
		} else {
			b := make([]byte, t.Bytes)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1 // touch every page so the memory is resident
			}
			r.held = append(r.held, b)
			r.heldN += t.Bytes
		}
	}
	return false
}

// Before applies the part of the effect that comes before the call: it
// waits out a delay or a hang (ending early when ctx ends, with ctx's
// error), then returns the injected error or panics with the injected
// panic. A nil Effect returns nil at once.
func (e *Effect) Before(ctx context.Context) error {
	if e == nil {
		return nil
	}
	if e.Delay > 0 {
		if err := wait(ctx, e.Delay); err != nil {
			return err
		}
	}
	if e.Hang {
		if e.HangFor <= 0 {
			<-ctx.Done()
			return context.Cause(ctx)
		}
		if err := wait(ctx, e.HangFor); err != nil {
			return err
		}
	}
	if e.Err != nil {
		return e.Err
	}
	if e.Panic != nil {
		panic(e.Panic)
	}
	return nil
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// spinLimit is the longest stretch spent working rather than waiting: a
// timer cannot wait a few microseconds without overshooting many times.
const spinLimit = 100 * time.Microsecond

// Stretch makes a tool call that ran for d last Slow times d longer, on
// the tool's goroutine before it answers, so the call meets its timeout as
// a slower tool would. A stretch under 100µs keeps the goroutine busy
// (a slower tool works, and a timer cannot wait that briefly); a longer one
// waits, ending early when ctx ends. When ctx ended before the stretch
// did, it returns ctx's cause: the slower tool would not have answered in
// time, so its result must not be taken. A nil Effect or one without slow
// returns nil at once.
func (e *Effect) Stretch(ctx context.Context, d time.Duration) error {
	if e == nil || e.Slow <= 0 || d <= 0 {
		return nil
	}
	extra := time.Duration(float64(d) * e.Slow)
	if extra >= spinLimit {
		return wait(ctx, extra)
	}
	for end := time.Now().Add(extra); time.Now().Before(end); {
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// ToolContext returns the context the tool should see: with slow_cancel,
// one whose cancellation lags the caller's by the effect's duration (the
// tool ignores cancellation that long). Call stop when the tool returns.
func (e *Effect) ToolContext(ctx context.Context) (tctx context.Context, stop func()) {
	if e == nil || e.SlowCancel <= 0 {
		return ctx, func() {}
	}
	tctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		t := time.NewTimer(e.SlowCancel)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(context.Cause(ctx))
		case <-done:
		}
	}()
	var once sync.Once
	return tctx, func() {
		once.Do(func() {
			close(done)
			cancel(context.Canceled)
		})
	}
}

// Alters reports whether the effect changes results.
func (e *Effect) Alters() bool { return e != nil && (e.Corrupt || e.Truncate >= 0) }

// After applies corrupt and truncate to a result: strings lose bytes or
// have one changed, numbers are off by one, booleans flip. The result is
// copied, never changed in place.
func (e *Effect) After(res any) any {
	if !e.Alters() {
		return res
	}
	return e.alter(res, 0)
}

func (e *Effect) alter(v any, depth int) any {
	if depth > 64 {
		return v
	}
	switch x := v.(type) {
	case string:
		if e.Truncate >= 0 {
			n := e.Truncate
			if n == 0 {
				n = len(x) / 2
			}
			if n < len(x) {
				x = x[:n]
			}
		}
		if e.Corrupt && len(x) > 0 {
			b := []byte(x)
			i := int(e.mutSeed % uint64(len(b)))
			b[i] ^= 0x55
			x = string(b)
		}
		return x
	case []byte:
		return e.alter(string(x), depth)
	case float64:
		if e.Corrupt {
			return x + 1
		}
	case int:
		if e.Corrupt {
			return x + 1
		}
	case int64:
		if e.Corrupt {
			return x + 1
		}
	case bool:
		if e.Corrupt {
			return !x
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = e.alter(val, depth+1)
		}
		return out
	case []any:
		n := len(x)
		if e.Truncate == 0 && n > 1 {
			n /= 2
		}
		out := make([]any, n)
		for i := range n {
			out[i] = e.alter(x[i], depth+1)
		}
		return out
	}
	return v
}

// AlterBytes applies corrupt and truncate to raw bytes (the protocol
// decoder's input), on a copy.
func (e *Effect) AlterBytes(b []byte) []byte {
	if !e.Alters() {
		return b
	}
	s, _ := e.alter(string(b), 0).(string)
	return []byte(s)
}
