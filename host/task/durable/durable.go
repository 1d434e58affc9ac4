// Package durable is spellhost's durable task backend: the task API of
// package task kept in NATS JetStream, so queued and running tasks
// survive a restart of the kernel, and worker processes on any machine
// share the work.
//
// Each kernel namespace has:
//
//   - a work-queue stream, SPELLHOST_TASKS_<ns>, holding one message per
//     unfinished task (its id and its Work), on a subject per priority
//     band: spellhost.tasks.<ns>.{hi,mid,lo}; a task whose Spec has a
//     Runner but no Work can run only in the process that submitted it
//     and goes to spellhost.tasks.<ns>.pin.<node>.<band>;
//   - a durable pull consumer per band (hi, mid, lo) that every worker
//     shares, with explicit acks and AckWait equal to the lease: a worker
//     holding a task sends InProgress every third of the lease, so a
//     worker that dies hands its task back within one lease;
//   - a key-value bucket, spellhost_tasks_<ns>, with one record per task:
//     its state, attempts, times, budget, result or error, and its whole
//     history of transitions. Every transition is a compare-and-set on
//     the record's revision, so when two workers race on one task, one
//     write wins and the task reaches exactly one terminal state;
//   - a bucket spellhost_meta_<ns> (the id counter, the namespace's rate
//     settings and token bucket) and spellhost_workers_<ns> (each worker
//     process's heartbeat, for Task.stats);
//   - core subjects spellhost.cancel.<ns> (a cancel request to the worker
//     running a task) and spellhost.wake.<ns> (a doorbell rung at each
//     submit, so idle workers fetch at once).
//
// Retries wait out their backoff in the stream: the worker naks the
// message with the delay drawn from the seeded jitter (task.Backoff), and
// the task shows retrying until a worker takes it again. A permanent
// failure terminates the message (Term); success and cancellation ack it.
//
// Which settings are per kernel and which cluster-wide: the queue's
// capacity (the stream's MaxMsgs with DiscardNew: a full stream answers
// queue_full), priorities, budgets (in each task's record) and the rate
// limit (a token bucket in the meta bucket that every worker draws from)
// are cluster-wide for the namespace; retention (MaxFinished, MaxAge) is
// applied by each kernel to what it sees, purging the records it drops;
// the number of workers is per process.
package durable

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

// Defaults.
const (
	DefaultNamespace = "default"
	// DefaultLease is the consumers' AckWait: a worker that stops
	// heartbeating hands its task back after it.
	DefaultLease = 30 * time.Second
	// DefaultMaxLost is how many times a task's worker may be lost before
	// the task fails instead of running again.
	DefaultMaxLost = 3
	// DefaultDrainTimeout is how long Close waits for a worker's attempts
	// to finish before handing them back.
	DefaultDrainTimeout = 10 * time.Second
	// idBlock is how many task ids a process reserves from the counter at
	// once.
	idBlock = 1024
)

var nsPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckNamespace validates a namespace name: 1 to 64 letters, digits, '-' or '_'.
func CheckNamespace(ns string) error {
	if !nsPattern.MatchString(ns) {
		return tools.Invalid("task namespace %q: want 1 to 64 letters, digits, '-' or '_'", ns)
	}
	return nil
}

// names are a namespace's streams, buckets and subjects.
type names struct {
	ns, stream, tasks, meta, workers string
	subj, cancel, wake               string
}

func namesOf(ns string) names {
	return names{ns: ns, stream: "SPELLHOST_TASKS_" + ns, tasks: "spellhost_tasks_" + ns,
		meta: "spellhost_meta_" + ns, workers: "spellhost_workers_" + ns,
		subj: "spellhost.tasks." + ns, cancel: "spellhost.cancel." + ns, wake: "spellhost.wake." + ns}
}

// bands, highest first.
var bands = []string{"hi", "mid", "lo"}

// band is the priority band of priority p: hi above 0, mid at 0, lo below.
// JetStream has no message priorities: workers fetch from the higher
// bands first; within a band tasks start in the order they were queued.
func band(p int) string {
	switch {
	case p > 0:
		return "hi"
	case p < 0:
		return "lo"
	}
	return "mid"
}

func (n names) subject(b, pin string) string {
	if pin != "" {
		return n.subj + ".pin." + pin + "." + b
	}
	return n.subj + "." + b
}

// message is a task's message in the stream. Rec and Rev are the record
// as submitted and its revision, so the worker that takes the first
// delivery need not read the store.
type message struct {
	ID   string          `json:"id"`
	Kind string          `json:"kind,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
	Rec  *record         `json:"rec,omitempty"` // decoded with the message, in one pass
	Rev  uint64          `json:"rev,omitempty"`
}

// Transition is one entry of a task's history in its record: the state
// it entered, when, in which attempt, on which worker, and why (a lost
// worker, a cancel request, a hand-back).
type Transition struct {
	State   task.State `json:"state"`
	At      time.Time  `json:"at"`
	Attempt int        `json:"attempt,omitempty"`
	Worker  string     `json:"worker,omitempty"`
	Note    string     `json:"note,omitempty"`
}

// record is a task's key-value record: what Status shows, the settings a
// worker needs, and the history.
type record struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Kind  string     `json:"kind,omitempty"`
	Pin   string     `json:"pin,omitempty"` // the node that alone can run it
	State task.State `json:"state"`
	// Finished comes early in the JSON, before anything a user names
	// (tags, results): the view reads it from the bytes (view.go).
	Finished time.Time         `json:"finished,omitzero"`
	Priority int               `json:"priority,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`

	Attempts   int           `json:"attempts"`
	Retries    int           `json:"retries,omitempty"`
	Timeout    time.Duration `json:"timeout"`
	Backoff    time.Duration `json:"backoff"`
	MaxBackoff time.Duration `json:"max_backoff"`
	Budget     float64       `json:"budget,omitempty"`
	Cost       float64       `json:"cost,omitempty"`
	Spent      float64       `json:"spent,omitempty"`
	Seed       uint64        `json:"seed,omitempty"`

	Submitted   time.Time     `json:"submitted"`
	Started     time.Time     `json:"started,omitzero"`
	NextAttempt time.Time     `json:"next_attempt,omitzero"`
	Mark        time.Time     `json:"mark"` // when it was queued again, or its attempt started
	QueueWait   time.Duration `json:"queue_wait,omitempty"`
	RunTime     time.Duration `json:"run_time,omitempty"`

	Worker    string `json:"worker,omitempty"` // holding the attempt in progress, or that made the last
	Seq       uint64 `json:"seq,omitempty"`    // of its message in the stream
	Lost      int    `json:"lost,omitempty"`   // attempts whose worker was lost
	CancelReq bool   `json:"cancel_req,omitempty"`
	CancelMsg string `json:"cancel_msg,omitempty"`

	Result json.RawMessage `json:"result,omitempty"`
	Error  *task.ErrorInfo `json:"error,omitempty"`

	History []Transition `json:"history"`
}

// log appends a transition to the history.
func (r *record) log(st task.State, at time.Time, worker, note string) {
	r.History = append(r.History, Transition{State: st, At: at, Attempt: r.Attempts, Worker: worker, Note: note})
}

// spec is the part of a task.Spec the record keeps, for the hook
// BeforeAttempt and for task.Backoff.
func (r *record) spec() task.Spec {
	return task.Spec{Name: r.Name, Timeout: r.Timeout, Retries: r.Retries, Backoff: r.Backoff,
		MaxBackoff: r.MaxBackoff, Priority: r.Priority, Tags: r.Tags, Budget: r.Budget, Cost: r.Cost}
}

// status is the record as a task.Status at now. A retrying task whose
// backoff is over shows queued: it waits in the stream for a worker.
func (r *record) status(now time.Time) task.Status {
	st := task.Status{ID: r.ID, Name: r.Name, State: r.State, Priority: r.Priority, Tags: r.Tags,
		Attempts: r.Attempts, MaxAttempts: 1 + r.Retries, Submitted: r.Submitted, Started: r.Started,
		Finished: r.Finished, NextAttempt: r.NextAttempt, QueueWait: r.QueueWait, RunTime: r.RunTime,
		Spent: r.Spent, Budget: r.Budget, CancelRequested: r.CancelReq && r.State == task.Running, Error: r.Error,
		Worker: r.Worker}
	if len(r.Result) > 0 {
		var v any
		if json.Unmarshal(r.Result, &v) == nil {
			st.Result = v
		}
	}
	switch r.State {
	case task.Retrying:
		if !r.NextAttempt.IsZero() && !now.Before(r.NextAttempt) {
			st.State, st.NextAttempt = task.Queued, time.Time{}
			st.QueueWait += now.Sub(r.NextAttempt)
		}
	case task.Queued:
		st.QueueWait += max(0, now.Sub(r.Mark))
	case task.Running:
		st.RunTime += max(0, now.Sub(r.Mark))
	}
	return st
}

// storeError is the error of a call to the store that failed.
func storeError(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *tools.Error
	if errors.As(err, &te) {
		return err
	}
	return &tools.Error{Type: tools.TypeExecution, Op: "task store", Err: fmt.Errorf("%s: %w", op, err)}
}

// ErrLostRunner is the error of a task whose Runner lived in a process
// that is gone: it was submitted with a Runner and no Work, so no other
// process can run it.
var ErrLostRunner = errors.New("its function ran in the process that submitted it, and that process restarted")
