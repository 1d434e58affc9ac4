// Package fault injects failures at the kernel's boundaries: before and
// after each tool call (targets "tool:NAME", with globs such as
// "tool:file_*" or "tool:*"), before each task attempt ("task:NAME"), in
// the protocol decoder ("protocol:decode"), in the HTTP server's transport
// ("net:server"), and on each HTTP request a VU makes ("http:PATTERN", see
// HTTP targets below).
//
// A rule is a chain of terms in the failpoint grammar Go users know:
//
//	50%delay(10ms)            half the calls wait 10ms
//	2*error(timeout)->off     the next two calls fail, then nothing
//	10%panic                  one call in ten panics inside the tool
//	down;for=5s               every call fails fast, for five seconds
//	error(unavailable);after=100   calls 101 onward fail
//	slow(30%)                 every call takes 30% longer than the tool's own run
//
// Each term is [P%][N*]KIND[(ARGS)]; "->" chains terms (a term with a count
// hands over to the next once it has fired that many times); options after
// ";" apply to the whole rule: after=K (skip the first K calls), for=D
// (switch off D after enabling). Kinds: off, error(TYPE or message) (alias
// return), delay(D[,JITTER]) (alias sleep), hang[(D)] (alias pause: until
// the call's context ends, or for D), panic[(message)], corrupt,
// truncate[(BYTES)], throttle(PER_SECOND), down, slow_cancel(D),
// slow(PERCENT%) at tool targets (the tool's goroutine keeps the call
// PERCENT of the tool's own run time longer, as a slower tool would) and
// leak(SIZE) or leak(goroutine). The transport kinds act at net: targets
// only: drop (close the connection without a reply), reset (close it with
// a TCP reset), slow(BYTES_PER_SECOND) (pace the reply), partial[(BYTES)]
// (cut the reply's body, to half by default) and status(CODE) (answer
// with that HTTP status, 400 to 599); there delay, hang, error, down,
// throttle, corrupt and off apply too, and panic, truncate, slow_cancel
// and leak, which act inside a tool call, do not. reset and status act at
// http: targets too (below).
//
// Every injected failure carries the "injected" error type, so reports count
// it apart from real failures. Randomness comes from a seeded source, so a
// run repeats exactly.
//
// # HTTP targets
//
// An HTTP request is known by three names, and a rule "http:PATTERN" acts
// on it when PATTERN matches any of them (once per request, however many
// match): its method ("http:GET", "http:POST"), its host and port
// ("http:127.0.0.1:8080", "http:api.test:443", "http:*:8080"), and its name
// tag, which is the URL unless the script named the request
// ("http:/users/{id}", "http:http://127.0.0.1:8080/health"). "http:*"
// matches every request. The rule is judged once per request, before its
// first hop, so redirects follow it unaltered.
//
// Two kinds answer an HTTP request without touching the network:
// status(CODE) (a response with that status, 100 to 599, and no body) and
// reset (the failure a connection reset by the server gives). Besides them
// an HTTP rule may use off, error(TYPE) (the failure TYPE names: timeout,
// refused, reset, dns, tls; any other text is a generic failure with that
// message), delay (added to the request's waiting time, as a slow server
// would), hang, down (connection refused), throttle, corrupt and truncate
// (of the response body) and leak. panic, slow and slow_cancel are refused
// there.
package fault

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Kind is what a term does.
type Kind string

// The kinds of term.
const (
	Off        Kind = "off"
	Error      Kind = "error"
	Delay      Kind = "delay"
	Hang       Kind = "hang"
	Panic      Kind = "panic"
	Corrupt    Kind = "corrupt"
	Truncate   Kind = "truncate"
	Throttle   Kind = "throttle"
	Down       Kind = "down"
	SlowCancel Kind = "slow_cancel"
	Slow       Kind = "slow"
	Leak       Kind = "leak"
	// The transport kinds, at net: targets only.
	Drop    Kind = "drop"
	Reset   Kind = "reset"
	Partial Kind = "partial"
	Status  Kind = "status"
)

// Kinds lists the kinds, in documentation order.
var Kinds = []Kind{Off, Error, Delay, Hang, Panic, Corrupt, Truncate, Throttle, Down, SlowCancel, Slow, Leak,
	Drop, Reset, Partial, Status}

// netOnly are the kinds that act on a connection; callOnly those that act
// inside a tool call or on its result, which a transport target cannot.
// slow is both: slow(P%) stretches a tool call, slow(BYTES) paces a
// connection (checked by its argument).
var (
	netOnly  = map[Kind]bool{Drop: true, Reset: true, Partial: true, Status: true}
	callOnly = map[Kind]bool{Panic: true, Truncate: true, SlowCancel: true, Leak: true}
	// httpKinds are the kinds an http: target takes: status and reset
	// answer without the network, the others act as at a tool call.
	httpKinds = map[Kind]bool{Off: true, Error: true, Delay: true, Hang: true, Down: true, Throttle: true,
		Corrupt: true, Truncate: true, Leak: true, Status: true, Reset: true}
)

var aliases = map[string]Kind{"return": Error, "sleep": Delay, "pause": Hang}

// Limits on what one rule may ask for, so a typo cannot stall a run for a
// day or fill memory in one hit.
const (
	MaxDuration = time.Hour
	MaxLeak     = 1 << 30 // bytes held by one leak hit
	MaxTerms    = 64
	MaxCount    = 1 << 30
	MaxSlow     = 1000 // percent: slow(1000%) makes a call eleven times as long
)

// Term is one step of a rule's chain.
type Term struct {
	Kind Kind `json:"kind"`
	// Prob is the chance that the term fires on a call, in (0, 1].
	Prob float64 `json:"p"`
	// Count is how many times the term fires before the chain moves on (0:
	// forever).
	Count int `json:"count,omitempty"`
	// Arg is error's type or message, or panic's message.
	Arg string `json:"arg,omitempty"`
	// Dur is delay's latency, hang's and slow_cancel's length.
	Dur time.Duration `json:"duration,omitempty"`
	// Jitter is added to delay uniformly at random in [0, Jitter].
	Jitter time.Duration `json:"jitter,omitempty"`
	// N is truncate's and partial's byte count (0: half), throttle's
	// calls per second, status's HTTP status, and slow's percentage
	// (Percent set) or bytes per second.
	N float64 `json:"n,omitempty"`
	// Percent marks slow's N as a percentage of a tool call's run time
	// rather than bytes per second.
	Percent bool `json:"percent,omitempty"`
	// Bytes is what one leak hit holds; Goroutine makes it park a goroutine
	// instead.
	Bytes     int64 `json:"bytes,omitempty"`
	Goroutine bool  `json:"goroutine,omitempty"`
}

// Spec is a parsed rule: its target pattern, chain and options.
type Spec struct {
	Target string `json:"target"`
	Terms  []Term `json:"terms"`
	// After skips the first After calls the rule sees.
	After int `json:"after,omitempty"`
	// For switches the rule off this long after it is enabled (0: never).
	For time.Duration `json:"for,omitempty"`
	// Text is the rule as written (or rebuilt from a table), for listings.
	Text string `json:"text"`
}

// ParseError says what in a rule is wrong and where.
type ParseError struct {
	Text string
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("fault rule %q: %s", e.Text, e.Msg) }

func perr(text, format string, args ...any) error {
	return &ParseError{Text: text, Msg: fmt.Sprintf(format, args...)}
}

// CheckTarget reports whether target is a valid target pattern:
// tool:GLOB, task:GLOB, protocol:decode, net:server or http:GLOB.
func CheckTarget(target string) error {
	kind, pat, ok := strings.Cut(target, ":")
	if !ok || pat == "" {
		return fmt.Errorf("fault target %q: want tool:NAME, task:NAME, protocol:decode, net:server or http:PATTERN (globs allowed, as tool:file_*)", target)
	}
	switch kind {
	case "tool", "task", "protocol", "net", "http":
	default:
		return fmt.Errorf("fault target %q: unknown boundary %q; one of tool, task, protocol, net, http", target, kind)
	}
	if _, err := path.Match(pat, ""); err != nil {
		return fmt.Errorf("fault target %q: bad glob: %v", target, err)
	}
	switch kind {
	case "protocol":
		if ok, _ := path.Match(pat, "decode"); !ok {
			return fmt.Errorf("fault target %q: the protocol boundary has one point, protocol:decode", target)
		}
	case "net":
		if ok, _ := path.Match(pat, "server"); !ok {
			return fmt.Errorf("fault target %q: the net boundary has one point, net:server (the HTTP server's transport)", target)
		}
	}
	return nil
}

// checkKinds reports a term whose kind cannot act at target: a transport
// kind at a tool, task or protocol target, a kind that acts inside a tool
// call at a net target, or a kind an HTTP request cannot undergo at an http
// target.
func checkKinds(target, text string, terms []Term) error {
	isNet := strings.HasPrefix(target, "net:")
	isHTTP := strings.HasPrefix(target, "http:")
	for _, t := range terms {
		switch {
		case isHTTP && callOnly[t.Kind] && !httpKinds[t.Kind]:
			return perr(text, "%s acts inside a tool call; an http:PATTERN target takes off, error, delay, hang, down, "+
				"throttle, corrupt, truncate, leak, status and reset", t.Kind)
		case isHTTP && !httpKinds[t.Kind]:
			return perr(text, "%s does not apply to an HTTP request (%s); an http:PATTERN target takes off, error, delay, hang, down, "+
				"throttle, corrupt, truncate, leak, status and reset", t.Kind, target)
		case isHTTP:
		case isNet && callOnly[t.Kind]:
			return perr(text, "%s acts inside a tool call and does not apply to %s; at net targets use drop, reset, slow, partial, status, delay, hang, error, down, throttle or corrupt", t.Kind, target)
		case isNet && t.Kind == Status && t.N < 400:
			return perr(text, "status(%d) at %s: want an HTTP error status from 400 to 599", int(t.N), target)
		case !isNet && (t.Kind == Status || t.Kind == Reset):
			return perr(text, "%s answers an HTTP request: use net:server or an http:PATTERN target, not %s", t.Kind, target)
		case !isNet && netOnly[t.Kind]:
			return perr(text, "%s acts on a connection and applies to net:server only, not to %s", t.Kind, target)
		}
	}
	return nil
}

// ParseAssignment parses TARGET=TERMS, the form of --fault and of the
// SPELLHOST_FAULTS variable (assignments there separated by spaces).
func ParseAssignment(s string) (*Spec, error) {
	target, terms, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return nil, fmt.Errorf("fault %q: want TARGET=TERMS, as tool:http_request=20%%error(unavailable)", s)
	}
	return Parse(strings.TrimSpace(target), strings.TrimSpace(terms))
}

// Parse parses a rule's terms for target.
func Parse(target, text string) (*Spec, error) {
	if err := CheckTarget(target); err != nil {
		return nil, err
	}
	if len(text) > 4096 {
		return nil, perr(text[:32]+"...", "longer than 4096 bytes")
	}
	sp := &Spec{Target: target, Text: text}
	chain, opts, _ := strings.Cut(text, ";")
	if strings.TrimSpace(chain) == "" {
		return nil, perr(text, "no terms; want e.g. 50%%delay(10ms) or 2*error(timeout)->off")
	}
	for _, part := range strings.Split(chain, "->") {
		if len(sp.Terms) == MaxTerms {
			return nil, perr(text, "more than %d terms", MaxTerms)
		}
		t, err := parseTerm(text, strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		switch {
		case t.Kind == Slow && t.Percent && !strings.HasPrefix(target, "tool:"):
			return nil, perr(text, "slow(%g%%) stretches a tool call's own run time: use a tool:NAME target, or slow(BYTES) at a net: target", t.N)
		case t.Kind == Slow && !t.Percent && !strings.HasPrefix(target, "net:"):
			return nil, perr(text, "slow(%d) paces a connection: use a net: target, or slow(PERCENT%%) at a tool:NAME target", int(t.N))
		}
		sp.Terms = append(sp.Terms, t)
	}
	if err := checkKinds(target, text, sp.Terms); err != nil {
		return nil, err
	}
	for _, o := range strings.Split(opts, ";") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, perr(text, "option %q: want after=K or for=DURATION", o)
		}
		switch strings.TrimSpace(k) {
		case "after":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > MaxCount {
				return nil, perr(text, "after=%s: want a whole number of calls from 0", v)
			}
			sp.After = n
		case "for":
			d, err := duration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				return nil, perr(text, "for=%s: want a positive duration such as 10s", v)
			}
			sp.For = d
		default:
			return nil, perr(text, "unknown option %q; options are after and for", k)
		}
	}
	return sp, nil
}

func parseTerm(text, s string) (Term, error) {
	t := Term{Prob: 1}
	if s == "" {
		return t, perr(text, "empty term (two -> in a row, or a trailing ->)")
	}
	if i := strings.IndexByte(s, '%'); i >= 0 && !strings.Contains(s[:i], "(") {
		p, err := strconv.ParseFloat(strings.TrimSpace(s[:i]), 64)
		if err != nil || !(p > 0 && p <= 100) {
			return t, perr(text, "probability %q: want a percentage in (0, 100]", s[:i+1])
		}
		t.Prob = p / 100
		s = strings.TrimSpace(s[i+1:])
	}
	if i := strings.IndexByte(s, '*'); i >= 0 && !strings.Contains(s[:i], "(") {
		n, err := strconv.Atoi(strings.TrimSpace(s[:i]))
		if err != nil || n < 1 || n > MaxCount {
			return t, perr(text, "count %q: want a whole number from 1", s[:i+1])
		}
		t.Count = n
		s = strings.TrimSpace(s[i+1:])
	}
	name, args := s, ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return t, perr(text, "term %q: unclosed (", s)
		}
		name, args = strings.TrimSpace(s[:i]), s[i+1:len(s)-1]
	}
	k := Kind(name)
	if a, ok := aliases[name]; ok {
		k = a
	}
	t.Kind = k
	return t, fill(text, &t, args)
}

// fill sets a term's arguments from its argument text.
func fill(text string, t *Term, args string) error {
	args = strings.TrimSpace(args)
	var list []string
	if args != "" {
		for _, a := range strings.Split(args, ",") {
			list = append(list, strings.Trim(strings.TrimSpace(a), `"'`))
		}
	}
	want := func(lo, hi int, form string) error {
		if len(list) < lo || len(list) > hi {
			return perr(text, "%s takes %s", t.Kind, form)
		}
		return nil
	}
	switch t.Kind {
	case Off, Corrupt, Down, Drop, Reset:
		return want(0, 0, "no arguments")
	case Error:
		if err := want(0, 1, "one argument: an error type or a message"); err != nil {
			return err
		}
		t.Arg = "injected failure"
		if len(list) == 1 && list[0] != "" {
			t.Arg = list[0]
		}
	case Panic:
		if err := want(0, 1, "one optional argument: a message"); err != nil {
			return err
		}
		t.Arg = "injected panic"
		if len(list) == 1 && list[0] != "" {
			t.Arg = list[0]
		}
	case Delay:
		if err := want(1, 2, "a latency and an optional jitter: delay(10ms) or delay(10ms, 5ms)"); err != nil {
			return err
		}
		var err error
		if t.Dur, err = boundedDur(text, "delay", list[0]); err != nil {
			return err
		}
		if len(list) == 2 {
			if t.Jitter, err = boundedDur(text, "delay jitter", list[1]); err != nil {
				return err
			}
		}
	case Hang, SlowCancel:
		if t.Kind == SlowCancel {
			if err := want(1, 1, "one duration: slow_cancel(500ms)"); err != nil {
				return err
			}
		} else if err := want(0, 1, "an optional duration: hang or hang(2s)"); err != nil {
			return err
		}
		if len(list) == 1 {
			var err error
			if t.Dur, err = boundedDur(text, string(t.Kind), list[0]); err != nil {
				return err
			}
		}
	case Truncate, Partial:
		if err := want(0, 1, fmt.Sprintf("an optional byte count: %s or %s(100)", t.Kind, t.Kind)); err != nil {
			return err
		}
		if len(list) == 1 {
			n, err := strconv.Atoi(list[0])
			if err != nil || n < 0 || n > MaxCount {
				return perr(text, "%s(%s): want a byte count from 0", t.Kind, list[0])
			}
			t.N = float64(n)
		}
	case Status:
		if err := want(1, 1, "an HTTP status code: status(503)"); err != nil {
			return err
		}
		n, err := strconv.Atoi(list[0])
		if err != nil || n < 100 || n > 599 {
			return perr(text, "status(%s): want an HTTP status from 100 to 599 (at net targets from 400 to 599)", list[0])
		}
		t.N = float64(n)
	case Throttle:
		if err := want(1, 1, "calls per second: throttle(100)"); err != nil {
			return err
		}
		n, err := strconv.ParseFloat(list[0], 64)
		if err != nil || !(n > 0 && n <= 1e9) {
			return perr(text, "throttle(%s): want calls per second above 0", list[0])
		}
		t.N = n
	case Slow:
		if err := want(1, 1, "a percentage at tool targets, slow(30%), or bytes per second at net targets, slow(4KiB)"); err != nil {
			return err
		}
		if num, ok := strings.CutSuffix(list[0], "%"); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || !(n > 0 && n <= MaxSlow) {
				return perr(text, "slow(%s): want a percentage above 0%% and at most %d%%, such as slow(30%%)", list[0], MaxSlow)
			}
			t.N, t.Percent = n, true
			return nil
		}
		n, err := humanize.ParseBytes(list[0])
		if err != nil || n == 0 || n > MaxLeak {
			return perr(text, "slow(%s): want a percentage (slow(30%%), at tool targets) or bytes per second from 1 to 1GiB (slow(4KiB), at net targets)", list[0])
		}
		t.N = float64(n)
	case Leak:
		if err := want(1, 1, "a size or goroutine: leak(1MB) or leak(goroutine)"); err != nil {
			return err
		}
		if list[0] == "goroutine" {
			t.Goroutine = true
			return nil
		}
		n, err := humanize.ParseBytes(list[0])
		if err != nil || n == 0 || n > MaxLeak {
			return perr(text, "leak(%s): want a size from 1B to 1GiB, or goroutine", list[0])
		}
		t.Bytes = int64(n)
	default:
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		return perr(text, "unknown kind %q; one of %s", t.Kind, strings.Join(names, ", "))
	}
	return nil
}

func boundedDur(text, what, s string) (time.Duration, error) {
	d, err := duration(s)
	if err != nil || d < 0 || d > MaxDuration {
		return 0, perr(text, "%s %q: want a duration from 0 to 1h, such as 10ms", what, s)
	}
	return d, nil
}

// duration parses a Go duration, or a bare number of milliseconds (the
// failpoint habit: sleep(100)).
func duration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > float64(MaxDuration/time.Millisecond) {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n * float64(time.Millisecond)), nil
	}
	return time.ParseDuration(s)
}

// String rebuilds the grammar form of a term.
func (t Term) String() string {
	var b strings.Builder
	if t.Prob < 1 {
		b.WriteString(strconv.FormatFloat(t.Prob*100, 'g', -1, 64) + "%")
	}
	if t.Count > 0 {
		b.WriteString(strconv.Itoa(t.Count) + "*")
	}
	b.WriteString(string(t.Kind))
	switch t.Kind {
	case Error, Panic:
		b.WriteString("(" + t.Arg + ")")
	case Delay:
		if t.Jitter > 0 {
			fmt.Fprintf(&b, "(%v,%v)", t.Dur, t.Jitter)
		} else {
			fmt.Fprintf(&b, "(%v)", t.Dur)
		}
	case Hang, SlowCancel:
		if t.Dur > 0 {
			fmt.Fprintf(&b, "(%v)", t.Dur)
		}
	case Truncate, Partial:
		if t.N > 0 {
			fmt.Fprintf(&b, "(%d)", int(t.N))
		}
	case Status:
		fmt.Fprintf(&b, "(%d)", int(t.N))
	case Throttle:
		fmt.Fprintf(&b, "(%g)", t.N)
	case Slow:
		if t.Percent {
			fmt.Fprintf(&b, "(%g%%)", t.N)
		} else {
			fmt.Fprintf(&b, "(%d)", int(t.N))
		}
	case Leak:
		if t.Goroutine {
			b.WriteString("(goroutine)")
		} else {
			fmt.Fprintf(&b, "(%dB)", t.Bytes)
		}
	}
	return b.String()
}

// Rebuild sets Text from the terms and options (for rules built from a
// Lua table).
func (sp *Spec) Rebuild() {
	parts := make([]string, len(sp.Terms))
	for i, t := range sp.Terms {
		parts[i] = t.String()
	}
	s := strings.Join(parts, "->")
	if sp.After > 0 {
		s += ";after=" + strconv.Itoa(sp.After)
	}
	if sp.For > 0 {
		s += ";for=" + sp.For.String()
	}
	sp.Text = s
}
