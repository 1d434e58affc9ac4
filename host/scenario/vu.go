package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/host/luavm"
	"spellhost/host/metrics"
	"spellhost/host/result"
	"spellhost/tools"
)

// IterationTimeout is the cause of an iteration stopped by its scenario's
// timeout.
type IterationTimeout struct {
	Scenario string
	Limit    time.Duration
}

func (e *IterationTimeout) Error() string {
	return fmt.Sprintf("iteration of scenario %s: timed out after %v", e.Scenario, e.Limit)
}

// Is makes an IterationTimeout a timeout.
func (e *IterationTimeout) Is(target error) bool {
	return target == context.DeadlineExceeded || target == tools.ErrTimeout
}

// scenarioRun is one scenario's shared state during the run.
type scenarioRun struct {
	sc   *Scenario
	tags string // canonical tags: the global ones, the scenario's own, scenario=NAME
	// tagMap is tags as a map; read-only.
	tagMap map[string]string
	// data is what the scenario's setup returned (a Go value).
	data any

	iterations, duration, service, timeouts *metrics.Def
	errorsDef                               *metrics.Def

	errs    *errorLog
	next    atomic.Int64 // iterations started, for Exec.scenario_iteration
	started time.Time
	ended   time.Time
	// begun is set once started is, for readers on other goroutines (the
	// collector's chart curves).
	begun   atomic.Bool
	errTags sync.Map // error type -> canonical tags
	mu      sync.Mutex
	// interrupted counts iterations cut short by gracefulStop, ramp-down
	// or the end of the run; they are neither errors nor timeouts.
	interrupted int64
}

// span returns when the scenario started (zero if it has not) and when it
// ended (now while it runs).
func (sr *scenarioRun) span() (start, end time.Time) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	start, end = sr.started, sr.ended
	if end.IsZero() {
		end = time.Now()
	}
	return start, end
}

// errorTags returns the scenario's tags plus type=typ.
func (sr *scenarioRun) errorTags(typ string) string {
	if t, ok := sr.errTags.Load(typ); ok {
		return t.(string)
	}
	m := metrics.ParseTags(sr.tags)
	m["type"] = typ
	t := metrics.Tags(m)
	sr.errTags.Store(typ, t)
	return t
}

// VU is one virtual user: its own Lua state, recorder and buffer.
type VU struct {
	id   int
	vm   *luavm.VM
	rec  *luavm.Recorder
	buf  *metrics.Buffer
	run  *runState
	sr   *scenarioRun
	data luavm.Ref // the global setup data, converted for this VM
	sdat luavm.Ref // the scenario setup data (nil without a scenario setup)
	fn   luavm.Ref // the scenario's exec function
	iter int64     // this VU's iterations so far
}

// Iterate runs one iteration of the VU's scenario. A panic in it is a
// bug in spellhost: it is reported and stops the run; a VU whose Lua
// state hit one runs no more iterations.
func (vu *VU) Iterate(ctx context.Context, intended time.Time) {
	defer vu.run.recovered(fmt.Sprintf("VU %d", vu.id), nil)
	if vu.vm.Broken() != nil {
		return
	}
	vu.run.hook("iteration")
	sr := vu.sr
	ictx := ctx
	if sr.sc.Timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeoutCause(ctx, sr.sc.Timeout, &IterationTimeout{Scenario: sr.sc.Name, Limit: sr.sc.Timeout})
		defer cancel()
	}
	vu.vm.SetIteration(vu.iter, sr.next.Add(1)-1)
	vu.iter++
	start := time.Now()
	_, err := vu.vm.Call(ictx, vu.fn, vu.data, vu.sdat)
	end := time.Now()
	b := vu.buf
	tags := sr.tags
	var bug *luavm.InternalError
	switch {
	case err == nil:
	case errors.As(err, &bug):
		b.Add(b.Series(sr.errorsDef, sr.errorTags(string(tools.TypeInternal))), 1)
		sr.errs.add(string(tools.TypeInternal), err.Error())
		if bug.Where == "" {
			bug.Where = fmt.Sprintf("VU %d", vu.id)
		}
		vu.run.internal(bug)
	case ictx.Err() != nil && errors.As(context.Cause(ictx), new(*IterationTimeout)):
		b.Add(b.Series(sr.timeouts, tags), 1)
	case errors.Is(err, luavm.ErrAborted) || ctx.Err() != nil:
		// Cut short by gracefulStop, the end of the run or abort(): not a
		// full iteration, so not in iterations or iteration_duration, and
		// not a success.
		sr.mu.Lock()
		sr.interrupted++
		sr.mu.Unlock()
		b.MaybeFlush(end)
		return
	default:
		typ := "script_error"
		var se *luavm.ScriptError
		if errors.As(err, &se) && se.Type != "" {
			typ = string(se.Type)
		}
		b.Add(b.Series(sr.errorsDef, sr.errorTags(typ)), 1)
		sr.errs.add(typ, err.Error())
	}
	b.Add(b.Series(sr.iterations, tags), 1)
	b.Add(b.Series(sr.duration, tags), float64(end.Sub(intended))/float64(time.Millisecond))
	b.Add(b.Series(sr.service, tags), float64(end.Sub(start))/float64(time.Millisecond))
	vu.run.iterations.Add(1)
	b.MaybeFlush(end)
}

// errorLog keeps the first distinct error messages of a scenario and how
// often each happened, in bounded memory.
type errorLog struct {
	mu      sync.Mutex
	entries []result.ErrorEntry
	others  int64
}

// maxErrorEntries bounds the distinct messages kept per scenario.
const maxErrorEntries = 20

func (l *errorLog) add(typ, msg string) {
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.entries {
		if l.entries[i].Message == msg {
			l.entries[i].Count++
			return
		}
	}
	if len(l.entries) < maxErrorEntries {
		l.entries = append(l.entries, result.ErrorEntry{Type: typ, Message: msg, Count: 1})
		return
	}
	l.others++
}

func (l *errorLog) snapshot() ([]result.ErrorEntry, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]result.ErrorEntry(nil), l.entries...), l.others
}
