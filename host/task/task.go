// Package task is spellhost's async task manager: work submitted now and
// finished later by a fixed pool of workers.
//
// A task runs a Runner, a Go function supplied by the caller: the kernel
// passes one that invokes a tool, the Lua host one that runs a Lua function
// in a worker's own state. The package knows no tool and nothing of Lua:
// from the tools core it takes only the error vocabulary.
//
// Each task has a per-attempt timeout, retries with exponential backoff and
// full jitter, a priority, tags and a budget. The Manager holds the
// kernel-wide settings: worker count, queue capacity (a full queue answers
// queue_full; nothing is dropped silently), a token-bucket rate limit,
// and the retention of finished tasks, bounded by count and by age.
//
// Life of a task:
//
//	queued ──▶ running ──▶ succeeded | failed | timed_out | cancelled
//	   ▲          │
//	   └─retrying◀┘  (a failed or timed-out attempt with retries left waits
//	                  out its backoff in the retrying state, then is queued
//	                  again ahead of later submissions of the same priority)
//
// Every task ends in exactly one terminal state; Cancel and Close end a
// queued or retrying task at once. Errors are *tools.Error values, the
// error vocabulary the whole host shares; the two types particular to
// tasks, queue_full and budget_exhausted, are defined here.
package task

import (
	"context"
	"errors"
	"fmt"
	"time"

	"spellhost/tools"
)

// Error types of the task manager, beside the core's; protocol replies
// and Lua errors carry them like the others.
const (
	// TypeQueueFull: Submit found the queue at capacity; nothing was queued.
	TypeQueueFull tools.ErrorType = "queue_full"
	// TypeBudget: a task's budget is spent; no further attempt is made.
	TypeBudget tools.ErrorType = "budget_exhausted"
)

// Sentinel errors for errors.Is.
var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = &tools.Error{Type: tools.TypeCancelled, Op: "task manager", Err: errors.New("closed")}
	// ErrQueueFull matches the error of a Submit refused for capacity.
	ErrQueueFull = &tools.Error{Type: TypeQueueFull}
	// ErrBudget matches a budget_exhausted error from Attempt.Spend.
	ErrBudget = &tools.Error{Type: TypeBudget}
)

// Runner does one attempt of a task. It must honour ctx: the context ends
// when the attempt's timeout fires (context.Cause is a *TimeoutError), when
// the task is cancelled, or when the manager closes (the cause says which).
// A result returned after ctx ended is discarded.
type Runner func(ctx context.Context, a *Attempt) (any, error)

// Spec describes a task. Zero fields take the defaults given.
type Spec struct {
	// Name says what the task runs, for listing ("tool:calculator", "fn").
	Name string
	// Run does the work. Required.
	Run Runner
	// Timeout bounds each attempt; 0 means Config.DefaultTimeout.
	Timeout time.Duration
	// Retries is the number of extra attempts after a failed or timed-out
	// attempt, 0 to 100. No retry follows a cancellation, a spent budget,
	// or an error of type validation_error, not_found or
	// permission_denied: another attempt cannot help.
	Retries int
	// Backoff is the base delay before the first retry (default 100ms).
	// Retry k waits a uniformly random time in [0, min(MaxBackoff,
	// Backoff×2^(k-1))] (exponential backoff with full jitter).
	Backoff time.Duration
	// MaxBackoff caps the backoff ceiling (default 10s).
	MaxBackoff time.Duration
	// Priority orders the queue: higher runs first, first submitted first
	// within a priority.
	Priority int
	// Tags label the task for filtering in List. Keys are non-empty and
	// hold no ':'. The map is copied at Submit.
	Tags map[string]string
	// Budget caps what the task may spend (Cost and Attempt.Spend); 0
	// means Config.DefaultBudget, where 0 is unlimited. Negative is invalid.
	Budget float64
	// Cost is charged before each attempt (default 0). An attempt whose
	// cost would pass the budget, or that would start with nothing left,
	// is not made: the task fails with budget_exhausted.
	Cost float64
	// Work describes the task as data, so that a worker in another
	// process can run it (see Work). The in-process Manager runs Run and
	// ignores Work; a durable backend runs Work where it is set, and runs
	// Run only in the process that submitted the task.
	Work *Work
}

// State is where a task is in its life.
type State string

// The states. Queued, Running and Retrying are live; the others terminal.
const (
	Queued    State = "queued"
	Running   State = "running"
	Retrying  State = "retrying" // waiting out the backoff before the next attempt
	Succeeded State = "succeeded"
	Failed    State = "failed"
	TimedOut  State = "timed_out"
	Cancelled State = "cancelled"
)

// States lists every state, live ones first.
var States = []State{Queued, Running, Retrying, Succeeded, Failed, TimedOut, Cancelled}

// Terminal reports whether s is a final state.
func (s State) Terminal() bool {
	switch s {
	case Succeeded, Failed, TimedOut, Cancelled:
		return true
	}
	return false
}

// ParseState returns the state named s, or a validation error listing the
// states.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", tools.Invalid("unknown task state %q, want one of queued, running, retrying, succeeded, failed, timed_out, cancelled", s)
}

// ErrorInfo is why a task did not succeed.
type ErrorInfo struct {
	Type    tools.ErrorType `json:"type"`
	Message string          `json:"message"`
}

// Status is a snapshot of a task. Tags is shared with the manager: treat it
// as read-only.
type Status struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	State    State             `json:"state"`
	Priority int               `json:"priority"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Attempts made so far, including one in progress.
	Attempts int `json:"attempts"`
	// MaxAttempts is 1 + Spec.Retries.
	MaxAttempts int `json:"max_attempts"`
	// Submitted, Started (first attempt) and Finished; zero until they happen.
	Submitted time.Time `json:"submitted"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	// NextAttempt is when a retrying task is queued again.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// QueueWait is the time spent queued, waiting for a worker (and the
	// rate limit), over all attempts; backoff time is not included.
	QueueWait time.Duration `json:"queue_wait"`
	// RunTime is the time spent in attempts, summed.
	RunTime time.Duration `json:"run_time"`
	// Spent and Budget: what Cost and Attempt.Spend charged, of the budget
	// (0: unlimited).
	Spent  float64 `json:"spent,omitempty"`
	Budget float64 `json:"budget,omitempty"`
	// CancelRequested is set once Cancel or Close asked a running task to
	// stop; it turns cancelled when its runner returns.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Worker names the worker process that holds the attempt in
	// progress, or made the last one (host/pid/random), with a backend
	// that runs tasks in worker processes; empty with the in-process
	// manager.
	Worker string `json:"worker,omitempty"`
	// Result of a succeeded task.
	Result any `json:"result,omitempty"`
	// Error of a failed, timed-out or cancelled task; while a task is
	// retrying, the error of its last attempt.
	Error *ErrorInfo `json:"error,omitempty"`
}

// Err returns the task's error as a *tools.Error, or nil.
func (s Status) Err() error {
	if s.Error == nil {
		return nil
	}
	return &tools.Error{Type: s.Error.Type, Err: errors.New(s.Error.Message)}
}

// TimeoutError is the cause of an attempt's context when its timeout fires.
type TimeoutError struct {
	ID      string
	Attempt int
	Limit   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("task %s: attempt %d timed out after %v", e.ID, e.Attempt, e.Limit)
}

// Is makes a TimeoutError match context.DeadlineExceeded and tools.ErrTimeout.
func (e *TimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == tools.ErrTimeout
}

// Observer receives the manager's events, for metrics. Its methods are
// called outside the manager's lock, from whichever goroutine caused the
// event, and must be cheap and safe for concurrent use. An event may come
// just after Status and Wait show its change; the workers' events have all
// come once Close returns.
type Observer interface {
	// TaskQueued: a task was submitted; depth counts queued and retrying tasks.
	TaskQueued(depth int)
	// TaskStarted: an attempt of a task with these tags (read-only)
	// starts after waiting queueWait; running counts the tasks held by
	// workers.
	TaskStarted(tags map[string]string, queueWait time.Duration, running int)
	// TaskFinished: a task reached its terminal state.
	TaskFinished(st Status)
	// TaskRetried: a failed attempt of a task with these tags (read-only)
	// will be retried after its backoff.
	TaskRetried(tags map[string]string)
	// RateLimitWait: a worker waits d for the rate limit.
	RateLimitWait(d time.Duration)
}

// Attempt is handed to a Runner: which attempt it is, and the task's
// budget to charge.
type Attempt struct {
	m    *Manager
	t    *task
	n    int
	over bool // guarded by m.mu; set when the attempt returns

	// Of an attempt made by another backend (NewAttempt): the task's id,
	// its tags and the function that charges its budget.
	id    string
	tags  map[string]string
	spend func(float64) error
}

// NewAttempt returns the Attempt that another backend hands a Runner or
// an Executor: attempt n of task id, whose Spend calls spend once the
// amount is checked to be finite and not negative.
func NewAttempt(id string, n int, tags map[string]string, spend func(float64) error) *Attempt {
	return &Attempt{id: id, n: n, tags: tags, spend: spend}
}

// Number is the attempt's number, from 1.
func (a *Attempt) Number() int { return a.n }

// ID is the task's id.
func (a *Attempt) ID() string {
	if a.t == nil {
		return a.id
	}
	return a.t.id
}

// Tags returns the task's tags (Spec.Tags as submitted), as a new map.
func (a *Attempt) Tags() map[string]string {
	if a.t == nil {
		return a.tags
	}
	return a.t.tagMap()
}

// Spend charges n to the task's budget. When that would pass the budget
// nothing is charged and Spend returns a budget_exhausted error, which the
// runner should return: the task then fails without further attempts.
// Spending after the attempt returned is a validation error.
func (a *Attempt) Spend(n float64) error {
	if !finite(n) || n < 0 {
		return tools.Invalid("task %s: spend %v: want a finite amount, 0 or more", a.ID(), n)
	}
	if a.m == nil {
		return a.spend(n)
	}
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	t := a.t
	if a.over {
		return tools.Invalid("task %s: spend after attempt %d returned", t.id, a.n)
	}
	if b := t.spec.Budget; b > 0 && t.spent+n > b {
		return tools.Errorf(TypeBudget, "task %s: budget exhausted: spending %g would bring %g to %g, over the budget of %g",
			t.id, n, t.spent, t.spent+n, b)
	}
	t.spent += n
	return nil
}
