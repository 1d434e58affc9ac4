package task

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"spellhost/tools"
)

// Queue is the task API that the kernel, the Lua host and the HTTP server
// use, whatever keeps the tasks. The in-process Manager is one backend;
// the durable one (package durable) keeps tasks in NATS JetStream, where
// they survive a restart and workers on other machines run them. Both
// give the same states, retries, priorities, budgets, errors and
// accounting; each backend documents where it differs in what Close does.
//
// Queue is distinct from queue, the Manager's heap of waiting tasks.
type Queue interface {
	// Submit validates spec, queues the task and returns its id, or fails
	// with validation_error, queue_full or ErrClosed.
	Submit(spec Spec) (string, error)
	// Status returns a task's status now, or not_found.
	Status(id string) (Status, error)
	// Wait waits until the task is terminal or ctx ends (then the status
	// now, with a timeout or cancelled error keeping the context's cause).
	Wait(ctx context.Context, id string) (Status, error)
	// WaitAll waits for every task in ids, in order, as Wait does one.
	WaitAll(ctx context.Context, ids []string) ([]Status, error)
	// Cancel ends a queued or retrying task at once and asks a running
	// one to stop (it ends cancelled when its attempt returns).
	Cancel(id string) (Status, error)
	// CancelAll cancels every live task with reason and returns the ids
	// of those still running.
	CancelAll(reason string) (running []string)
	// List returns a page of the tasks that match f, in submission order.
	List(f Filter) (Page, error)
	// Stats returns the counters; Stats.Balanced holds at every moment.
	Stats() Stats
	// Watch follows a task's changes of state (see Manager.Watch).
	Watch(id string) (statuses <-chan Status, stop func(), err error)
	// Close stops the backend's workers and releases what it holds.
	Close()
}

var _ Queue = (*Manager)(nil)

// Durable is implemented by a Queue whose tasks outlive the process: a
// server draining for a restart leaves them queued instead of cancelling
// them.
type Durable interface {
	Durable() bool
}

// Work is a task described as data, for a worker in another process: an
// executor registered for Kind on the worker runs it with Body. Body must
// encode as JSON; a durable backend encodes it at Submit.
//
// The kinds spellhost defines:
//
//	"tool"  {"tool": NAME, "params": {...}}: a tool call, run through the
//	        worker's own kernel under the worker's own permissions
type Work struct {
	Kind string
	Body any
}

// Executor runs one attempt of a task described as Work: body is the
// JSON of Work.Body. It honours ctx as a Runner does.
type Executor func(ctx context.Context, a *Attempt, body []byte) (any, error)

// WorkerInfo describes a worker process of a distributed backend, for
// Task.stats, /metrics and the summary.
type WorkerInfo struct {
	ID       string    `json:"id"`        // host/pid/random
	Host     string    `json:"host"`      // the machine's name
	Slots    int       `json:"slots"`     // attempts it runs at once
	Running  int       `json:"running"`   // attempts in progress now
	Done     int64     `json:"done"`      // attempts it finished since it started
	Started  time.Time `json:"started"`   // when it started
	LastSeen time.Time `json:"last_seen"` // its latest heartbeat
}

// WorkerLister is implemented by a Queue that knows its worker processes.
type WorkerLister interface {
	Workers() []WorkerInfo
}

// ResolveConfig validates c and fills in its defaults, as New does.
func ResolveConfig(c Config) (Config, error) {
	err := c.resolve()
	return c, err
}

// ResolveSpec validates s and fills in its defaults under c (resolved), as
// Submit does. A spec with Work needs no Run.
func ResolveSpec(c Config, s *Spec) error {
	run := s.Run
	if run == nil && s.Work != nil {
		s.Run = func(context.Context, *Attempt) (any, error) { return nil, nil }
	}
	err := (&Manager{cfg: c}).resolveSpec(s)
	s.Run = run
	if err == nil && s.Work != nil && s.Work.Kind == "" {
		return tools.Invalid("task spec: work: kind is required")
	}
	return err
}

// FormatID is the id of the task with submission number n: "t-" and at
// least six digits.
func FormatID(n uint64) string { return formatID(n) }

// Retryable reports whether another attempt could help after an error of
// type typ: not after validation_error, not_found, permission_denied,
// budget_exhausted or cancelled.
func Retryable(typ tools.ErrorType) bool { return retryable(typ) }

// Backoff draws the delay before retry k (from 1) of task id: uniform in
// [0, min(MaxBackoff, Backoff×2^(k-1))], from a stream seeded by seed and
// the task's id, so the same task draws the same delays on whichever
// worker retries it. s has its defaults filled in.
func Backoff(seed uint64, id string, s *Spec, k int) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(id))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(k))
	h.Write(b[:])
	m := &Manager{rng: rand.New(rand.NewPCG(seed, h.Sum64()))}
	return m.backoffLocked(s, k)
}

// Outcome classifies an attempt that returned res and err under ctx, as
// the Manager does: a context that ended makes the attempt timed_out (its
// cause a *TimeoutError) or cancelled, whatever the runner returned; an
// error of type timeout or cancelled keeps that state; any other error
// fails it.
func Outcome(ctx context.Context, res any, err error) (State, any, *ErrorInfo) {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if _, ok := cause.(*TimeoutError); ok {
			return TimedOut, nil, errInfo(cause)
		}
		return Cancelled, nil, errInfo(cause)
	}
	if err != nil {
		info := errInfo(err)
		switch info.Type {
		case tools.TypeTimeout:
			return TimedOut, nil, info
		case tools.TypeCancelled:
			return Cancelled, nil, info
		}
		return Failed, nil, info
	}
	return Succeeded, res, nil
}

// ErrInfo is the ErrorInfo of err.
func ErrInfo(err error) *ErrorInfo { return errInfo(err) }

// WaitError is the error of a wait whose ctx ended with the task still in
// state: timeout for a deadline, cancelled otherwise, keeping the cause.
func WaitError(ctx context.Context, id string, state State) error {
	return waitError(ctx, id, state)
}

// Finite reports whether f is neither NaN nor infinite.
func Finite(f float64) bool { return finite(f) }

// Call runs an attempt's function, turning a panic into an internal error.
func Call(id string, n int, f func() (any, error)) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, tools.Errorf(tools.TypeInternal, "task %s: attempt %d panicked: %v", id, n, r)
		}
	}()
	return f()
}
