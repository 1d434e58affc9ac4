package task

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"spellhost/tools"
)

// Defaults of Config and Spec.
const (
	DefaultWorkers     = 4
	DefaultQueueCap    = 10000
	DefaultTimeout     = 60 * time.Second
	DefaultMaxFinished = 10000
	DefaultMaxAge      = 10 * time.Minute
	DefaultBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	MaxRetries         = 100
	DefaultListLimit   = 100
	MaxListLimit       = 1000
)

// Config holds the manager-wide settings. Zero fields take the defaults;
// negative ones are invalid.
type Config struct {
	// Workers is the number of worker goroutines, the tasks run at once
	// (default 4).
	Workers int
	// QueueCap bounds the tasks queued or waiting to retry (default
	// 10000). Submit beyond it fails with queue_full.
	QueueCap int
	// RatePerMinute limits how often attempts start, retries included: a
	// worker waits for a token of this token bucket before each attempt.
	// 0 is unlimited.
	RatePerMinute float64
	// Burst is the bucket's size, the attempts that may start at once
	// after a quiet spell (default max(1, RatePerMinute/60)).
	Burst int
	// DefaultTimeout bounds an attempt whose Spec names no timeout
	// (default 60s).
	DefaultTimeout time.Duration
	// DefaultBudget is the budget of a task whose Spec names none
	// (default 0: unlimited).
	DefaultBudget float64
	// MaxFinished is how many finished tasks are kept for Status, Wait
	// and List (default 10000); the oldest finished are dropped first.
	MaxFinished int
	// MaxAge is how long a finished task is kept (default 10m).
	MaxAge time.Duration
	// Seed seeds the backoff jitter, so runs repeat.
	Seed uint64
	// Observer, when set, receives the manager's events for metrics.
	Observer Observer
	// BeforeAttempt, when set, runs before each attempt with the attempt's
	// context, as a fault injection point. An error from it fails the
	// attempt as a runner error would; retries apply. s is a copy of the
	// task's spec, defaults filled in.
	BeforeAttempt func(ctx context.Context, s *Spec, attempt int) error
}

// Filter selects tasks for List. Zero fields select everything.
type Filter struct {
	// State is one of the States, or "" for all.
	State string
	// Tag is "key:value"; a task matches when its tag key has that value.
	Tag string
	// Tags: a task matches when it has every key with the value given.
	// Tag and Tags may both be set; both must match.
	Tags map[string]string
	// Offset skips that many matching tasks; Limit caps the page
	// (default 100, at most 1000).
	Offset, Limit int
}

// Page is one page of List.
type Page struct {
	Tasks  []Status `json:"tasks"`
	Total  int      `json:"total"`  // tasks matching the filter
	Offset int      `json:"offset"` // of the first task in Tasks
	Next   int      `json:"next"`   // offset of the next page, -1 when none
}

// Stats are the manager's counters. Queued, Running and Retrying are the
// live tasks now; the others count since New. Submitted always equals
// Queued + Running + Retrying + Succeeded + Failed + TimedOut + Cancelled.
type Stats struct {
	Workers  int `json:"workers"`
	QueueCap int `json:"queue_cap"`

	Queued   int `json:"queued"`
	Running  int `json:"running"`
	Retrying int `json:"retrying"` // waiting out a backoff

	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	TimedOut  int64 `json:"timed_out"`
	Cancelled int64 `json:"cancelled"`

	Submitted int64 `json:"submitted"`
	Rejected  int64 `json:"rejected"` // refused with queue_full
	Retries   int64 `json:"retries"`  // attempts scheduled after a failure

	RateLimitWaits int64         `json:"rate_limit_waits"`
	RateLimitWait  time.Duration `json:"rate_limit_wait"` // total

	Retained int   `json:"retained"` // finished tasks kept
	Dropped  int64 `json:"dropped"`  // finished tasks dropped by retention
}

// Terminal is the number of tasks that finished.
func (s Stats) Terminal() int64 { return s.Succeeded + s.Failed + s.TimedOut + s.Cancelled }

// Balanced reports whether every submitted task is accounted for in
// exactly one state.
func (s Stats) Balanced() bool {
	return s.Submitted == int64(s.Queued+s.Running+s.Retrying)+s.Terminal()
}

// Manager queues tasks and runs them on its workers. It is safe for
// concurrent use. Close it to stop the workers.
type Manager struct {
	cfg     Config
	limiter *rate.Limiter
	obs     Observer

	workers   sync.WaitGroup
	timers    sync.WaitGroup // backoff timers scheduled and not yet stopped or fired
	closing   chan struct{}  // closed by Close, wakes workers waiting for the rate limit
	closeOnce sync.Once

	epoch time.Time // stamps count from here

	mu     sync.Mutex
	cond   sync.Cond // signalled when the queue grows or the manager closes
	closed bool
	rng    *rand.Rand

	seq       uint64
	tasks     map[string]*task // live and retained tasks by id
	order     []*task          // the same, in submission order; nil where a task was dropped
	orderDead int              // nil slots in order
	queue     queue
	fin       []*task // retained finished tasks from fin[finHead], oldest first
	finHead   int
	claims    int // workers holding a queued task's place while they wait for the rate limit

	running, retrying int
	stats             Stats // the cumulative counters

	watch map[*task][]*watcher // Watch's subscribers by task (watch.go)
}

// stamp is a moment as the monotonic time since the manager's epoch,
// smaller than a time.Time; unset is none.
type stamp time.Duration

const unset stamp = -1

func (m *Manager) now() stamp { return stamp(time.Since(m.epoch)) }

func (m *Manager) time(s stamp) time.Time {
	if s == unset {
		return time.Time{}
	}
	return m.epoch.Add(time.Duration(s))
}

func (s stamp) sub(o stamp) time.Duration { return time.Duration(s - o) }

// tag is a task's tag; a task keeps a few as a slice, smaller than a map.
type tag struct{ k, v string }

// task is a submitted task. Its fields are guarded by Manager.mu, except
// the immutable id, seq, tags and spec (spec.Run is cleared at the finish;
// spec.Tags is nil, the tags are in tags).
type task struct {
	id    string
	seq   uint64
	spec  Spec
	tags  []tag
	state State
	index int // in the queue, -1 when not queued
	pos   int // in Manager.order

	attempts int
	spent    float64

	submitted, started, finished stamp
	mark                         stamp // when it entered the queue, or its attempt started
	next                         stamp // when a retrying task is queued again
	queueWait, runTime           time.Duration

	result any
	err    *ErrorInfo

	cancelReq   bool
	cancelCause error
	cancel      context.CancelCauseFunc // of the attempt in progress
	timer       *time.Timer             // the backoff timer while retrying
	done        chan struct{}           // made by the first waiter, closed at the finish
}

// New validates cfg, fills in its defaults and starts the workers.
func New(cfg Config) (*Manager, error) {
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:     cfg,
		obs:     cfg.Observer,
		epoch:   time.Now(),
		closing: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		tasks:   make(map[string]*task),
	}
	m.cond.L = &m.mu
	m.stats.Workers, m.stats.QueueCap = cfg.Workers, cfg.QueueCap
	if cfg.RatePerMinute > 0 {
		m.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerMinute/60), cfg.Burst)
	}
	m.workers.Add(cfg.Workers)
	for range cfg.Workers {
		go m.work()
	}
	return m, nil
}

func (c *Config) resolve() error {
	bad := func(format string, args ...any) error {
		return tools.Invalid("task config: "+format, args...)
	}
	switch {
	case c.Workers < 0:
		return bad("workers %d: want 0 (default %d) or more", c.Workers, DefaultWorkers)
	case c.QueueCap < 0:
		return bad("queue capacity %d: want 0 (default %d) or more", c.QueueCap, DefaultQueueCap)
	case !finite(c.RatePerMinute) || c.RatePerMinute < 0:
		return bad("rate per minute %v: want 0 (unlimited) or a finite rate above 0", c.RatePerMinute)
	case c.Burst < 0:
		return bad("burst %d: want 0 (default max(1, rate/60)) or more", c.Burst)
	case c.DefaultTimeout < 0:
		return bad("default timeout %v: want 0 (default %v) or more", c.DefaultTimeout, DefaultTimeout)
	case !finite(c.DefaultBudget) || c.DefaultBudget < 0:
		return bad("default budget %v: want 0 (unlimited) or a finite budget above 0", c.DefaultBudget)
	case c.MaxFinished < 0:
		return bad("max finished %d: want 0 (default %d) or more", c.MaxFinished, DefaultMaxFinished)
	case c.MaxAge < 0:
		return bad("max age %v: want 0 (default %v) or more", c.MaxAge, DefaultMaxAge)
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.QueueCap == 0 {
		c.QueueCap = DefaultQueueCap
	}
	if c.Burst == 0 {
		c.Burst = max(1, int(c.RatePerMinute/60))
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = DefaultTimeout
	}
	if c.MaxFinished == 0 {
		c.MaxFinished = DefaultMaxFinished
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	return nil
}

// Config returns the manager's settings with the defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

func (m *Manager) resolveSpec(s *Spec) error {
	bad := func(format string, args ...any) error {
		return tools.Invalid("task spec: "+format, args...)
	}
	switch {
	case s.Run == nil:
		return bad("run is required")
	case s.Timeout < 0:
		return bad("timeout %v: want 0 (default %v) or more", s.Timeout, m.cfg.DefaultTimeout)
	case s.Retries < 0 || s.Retries > MaxRetries:
		return bad("retries %d: want 0 to %d", s.Retries, MaxRetries)
	case s.Backoff < 0:
		return bad("backoff %v: want 0 (default %v) or more", s.Backoff, DefaultBackoff)
	case s.MaxBackoff < 0:
		return bad("max backoff %v: want 0 (default %v) or more", s.MaxBackoff, DefaultMaxBackoff)
	case !finite(s.Budget) || s.Budget < 0:
		return bad("budget %v: want 0 (default) or a finite budget above 0", s.Budget)
	case !finite(s.Cost) || s.Cost < 0:
		return bad("cost %v: want a finite cost, 0 or more", s.Cost)
	}
	for k := range s.Tags {
		if k == "" || strings.IndexByte(k, ':') >= 0 {
			return bad("tag key %q: want a non-empty key without ':'", k)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = m.cfg.DefaultTimeout
	}
	if s.Backoff == 0 {
		s.Backoff = DefaultBackoff
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	if s.Budget == 0 {
		s.Budget = m.cfg.DefaultBudget
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Submit queues a task and returns its id: "t-" and the manager's
// submission counter, at least six digits ("t-000001"), unique within the
// manager. It fails with a validation_error naming the bad field, with
// queue_full when the queue is at capacity, or with ErrClosed.
func (m *Manager) Submit(spec Spec) (string, error) {
	if err := m.resolveSpec(&spec); err != nil {
		return "", err
	}
	t := &task{spec: spec, state: Queued, started: unset, finished: unset, next: unset}
	if len(spec.Tags) > 0 {
		t.tags = make([]tag, 0, len(spec.Tags))
		for k, v := range spec.Tags {
			t.tags = append(t.tags, tag{k, v})
		}
		slices.SortFunc(t.tags, func(a, b tag) int { return strings.Compare(a.k, b.k) })
		t.spec.Tags = nil
	}
	now := m.now()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return "", ErrClosed
	}
	m.pruneLocked(now)
	if depth := m.queue.Len() + m.retrying; depth >= m.cfg.QueueCap {
		m.stats.Rejected++
		m.mu.Unlock()
		return "", tools.Errorf(TypeQueueFull,
			"task queue full: %d tasks queued or waiting to retry, the capacity; submit later or raise the capacity (options.tasks.queue)", depth)
	}
	m.seq++
	t.seq = m.seq
	t.id = formatID(t.seq)
	t.submitted, t.mark = now, now
	m.tasks[t.id] = t
	t.pos = len(m.order)
	m.order = append(m.order, t)
	heap.Push(&m.queue, t)
	m.stats.Submitted++
	depth := m.queue.Len() + m.retrying
	m.cond.Signal()
	m.mu.Unlock()
	if m.obs != nil {
		m.obs.TaskQueued(depth)
	}
	return t.id, nil
}

func formatID(n uint64) string {
	var b [24]byte
	d := strconv.AppendUint(b[:0], n, 10)
	out := make([]byte, 0, 8+len(d))
	out = append(out, "t-"...)
	for i := len(d); i < 6; i++ {
		out = append(out, '0')
	}
	return string(append(out, d...))
}

// notFound is the error for an unknown id.
func (m *Manager) notFound(id string) error {
	return tools.Errorf(tools.TypeNotFound,
		"task %s not found: no such task, or it finished and was dropped by retention (the latest %d finished tasks are kept, for at most %v)",
		id, m.cfg.MaxFinished, m.cfg.MaxAge)
}

// Status returns a snapshot of the task, or not_found.
func (m *Manager) Status(id string) (Status, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(now)
	t := m.tasks[id]
	if t == nil {
		return Status{}, m.notFound(id)
	}
	return m.statusLocked(t, now), nil
}

// Wait waits until the task is terminal or ctx ends. When ctx ends first
// it returns the task's current status with a timeout error (deadline) or
// a cancelled error that wraps the context's cause. A task dropped by
// retention while Wait waits is still reported.
func (m *Manager) Wait(ctx context.Context, id string) (Status, error) {
	m.mu.Lock()
	m.pruneLocked(m.now())
	t := m.tasks[id]
	if t == nil {
		m.mu.Unlock()
		return Status{}, m.notFound(id)
	}
	return m.wait(ctx, t)
}

// wait is Wait for a task found under the lock, which it releases.
func (m *Manager) wait(ctx context.Context, t *task) (Status, error) {
	if t.state.Terminal() {
		st := m.statusLocked(t, m.now())
		m.mu.Unlock()
		return st, nil
	}
	if t.done == nil {
		t.done = make(chan struct{})
	}
	done := t.done
	m.mu.Unlock()
	select {
	case <-done:
		m.mu.Lock()
		st := m.statusLocked(t, m.now())
		m.mu.Unlock()
		return st, nil
	case <-ctx.Done():
	}
	m.mu.Lock()
	st := m.statusLocked(t, m.now())
	m.mu.Unlock()
	if st.State.Terminal() {
		return st, nil
	}
	return st, waitError(ctx, t.id, st.State)
}

// waitError classifies why a wait's ctx ended, keeping its cause.
func waitError(ctx context.Context, id string, state State) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	typ := tools.TypeCancelled
	if ctx.Err() == context.DeadlineExceeded {
		typ = tools.TypeTimeout
	}
	return &tools.Error{Type: typ, Op: "task " + id,
		Err: fmt.Errorf("wait ended with the task still %s: %w", state, cause)}
}

// WaitAll waits for every task in ids, in order, until all are terminal or
// ctx ends. It returns a status per id (current ones when ctx ended first,
// with Wait's error). An unknown id fails at once with not_found.
func (m *Manager) WaitAll(ctx context.Context, ids []string) ([]Status, error) {
	ts := make([]*task, len(ids))
	m.mu.Lock()
	m.pruneLocked(m.now())
	for i, id := range ids {
		if ts[i] = m.tasks[id]; ts[i] == nil {
			m.mu.Unlock()
			return nil, m.notFound(id)
		}
	}
	m.mu.Unlock()
	out := make([]Status, len(ids))
	var first error
	for i, t := range ts {
		m.mu.Lock()
		if first != nil {
			out[i] = m.statusLocked(t, m.now())
			m.mu.Unlock()
			continue
		}
		out[i], first = m.wait(ctx, t)
	}
	return out, first
}

// Cancel cancels a task. A queued or retrying task ends cancelled at once.
// A running task's attempt context is cancelled, its cause naming
// Task.cancel; the task ends cancelled when its runner returns, and the
// status returned shows it still running with CancelRequested set. A task
// already terminal is returned as it is, with no error. An unknown id is
// not_found.
func (m *Manager) Cancel(id string) (Status, error) {
	now := m.now()
	m.mu.Lock()
	m.pruneLocked(now)
	t := m.tasks[id]
	if t == nil {
		m.mu.Unlock()
		return Status{}, m.notFound(id)
	}
	cause := tools.Errorf(tools.TypeCancelled, "task %s: cancelled by Task.cancel", id)
	finished := m.cancelLocked(t, cause, now)
	m.pruneLocked(now)
	st := m.statusLocked(t, now)
	m.mu.Unlock()
	if finished && m.obs != nil {
		m.obs.TaskFinished(st)
	}
	return st, nil
}

// cancelLocked cancels t with cause and reports whether t finished now.
func (m *Manager) cancelLocked(t *task, cause error, now stamp) bool {
	switch t.state {
	case Queued:
		heap.Remove(&m.queue, t.index)
		m.finishLocked(t, Cancelled, nil, errInfo(cause), now)
		return true
	case Retrying:
		if t.timer.Stop() {
			m.timers.Done()
		} // else its callback is under way and finds the task terminal
		t.timer = nil
		m.retrying--
		m.finishLocked(t, Cancelled, nil, errInfo(cause), now)
		return true
	case Running:
		if !t.cancelReq {
			t.cancelReq, t.cancelCause = true, cause
			if t.cancel != nil {
				t.cancel(cause)
			}
		}
	}
	return false
}

// List returns a page of the tasks that match f, in submission order.
func (m *Manager) List(f Filter) (Page, error) {
	var state State
	if f.State != "" {
		var err error
		if state, err = ParseState(f.State); err != nil {
			return Page{}, tools.WithOp("task list", err)
		}
	}
	var tagK, tagV string
	if f.Tag != "" {
		var ok bool
		if tagK, tagV, ok = strings.Cut(f.Tag, ":"); !ok || tagK == "" {
			return Page{}, tools.Invalid("task list: tag %q: want key:value", f.Tag)
		}
	}
	switch {
	case f.Offset < 0:
		return Page{}, tools.Invalid("task list: offset %d: want 0 or more", f.Offset)
	case f.Limit < 0 || f.Limit > MaxListLimit:
		return Page{}, tools.Invalid("task list: limit %d: want 1 to %d, or 0 for %d", f.Limit, MaxListLimit, DefaultListLimit)
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	match := func(t *task) bool {
		if t == nil || state != "" && t.state != state {
			return false
		}
		if f.Tag != "" && !t.hasTag(tagK, tagV) {
			return false
		}
		for k, v := range f.Tags {
			if !t.hasTag(k, v) {
				return false
			}
		}
		return true
	}
	page := Page{Tasks: []Status{}, Offset: f.Offset, Next: -1}
	now := m.now()
	m.mu.Lock()
	m.pruneLocked(now)
	for _, t := range m.order {
		if !match(t) {
			continue
		}
		if page.Total >= f.Offset && len(page.Tasks) < limit {
			page.Tasks = append(page.Tasks, m.statusLocked(t, now))
		}
		page.Total++
	}
	m.mu.Unlock()
	if end := f.Offset + len(page.Tasks); end < page.Total {
		page.Next = end
	}
	return page, nil
}

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(now)
	s := m.stats
	s.Queued, s.Running, s.Retrying = m.queue.Len(), m.running, m.retrying
	s.Retained = len(m.fin) - m.finHead
	return s
}

// Close stops accepting tasks, cancels the queued, retrying and running
// ones (they end cancelled; running attempts see their context cancelled
// with a cause saying the manager closed) and waits for the workers and
// backoff timers to end. No goroutine of the manager outlives Close. Close
// is idempotent; later calls return once the first is done. Do not call it
// from a Runner or an Observer: it waits for the workers.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		now := m.now()
		var ended []Status
		m.mu.Lock()
		m.closed = true
		for _, t := range m.order {
			if t == nil || t.state.Terminal() {
				continue
			}
			cause := tools.Errorf(tools.TypeCancelled, "task %s: cancelled: the task manager closed", t.id)
			if m.cancelLocked(t, cause, now) && m.obs != nil {
				ended = append(ended, m.statusLocked(t, now))
			}
		}
		m.pruneLocked(now)
		m.cond.Broadcast()
		m.mu.Unlock()
		close(m.closing)
		if m.obs != nil {
			for _, st := range ended {
				m.obs.TaskFinished(st)
			}
		}
		m.workers.Wait()
		m.timers.Wait()
	})
}

// finishLocked moves t to a terminal state and wakes its waiters. The
// caller has taken t out of the queue, the retrying or the running count.
func (m *Manager) finishLocked(t *task, s State, res any, info *ErrorInfo, now stamp) {
	if t.state == Queued {
		t.queueWait += now.sub(t.mark)
	}
	t.state, t.result, t.err, t.finished = s, res, info, now
	t.next = unset
	t.spec.Run = nil // release what the runner holds
	t.cancel, t.cancelCause, t.timer = nil, nil, nil
	if t.done != nil {
		close(t.done)
		t.done = nil
	}
	switch s {
	case Succeeded:
		m.stats.Succeeded++
	case Failed:
		m.stats.Failed++
	case TimedOut:
		m.stats.TimedOut++
	case Cancelled:
		m.stats.Cancelled++
	}
	m.fin = append(m.fin, t)
	m.notifyLocked(t, now)
}

// pruneLocked drops the finished tasks over the retention limits, oldest
// first, and compacts the bookkeeping slices.
func (m *Manager) pruneLocked(now stamp) {
	for m.finHead < len(m.fin) {
		t := m.fin[m.finHead]
		if len(m.fin)-m.finHead <= m.cfg.MaxFinished && now.sub(t.finished) <= m.cfg.MaxAge {
			break
		}
		m.fin[m.finHead] = nil
		m.finHead++
		delete(m.tasks, t.id)
		m.order[t.pos] = nil
		m.orderDead++
		m.stats.Dropped++
	}
	if m.finHead > 0 && m.finHead >= len(m.fin)/2 {
		n := copy(m.fin, m.fin[m.finHead:])
		clear(m.fin[n:])
		m.fin, m.finHead = m.fin[:n], 0
	}
	if m.orderDead > 64 && m.orderDead >= len(m.order)/2 {
		live := m.order[:0]
		for _, t := range m.order {
			if t != nil {
				t.pos = len(live)
				live = append(live, t)
			}
		}
		clear(m.order[len(live):])
		m.order, m.orderDead = live, 0
	}
}

func errInfo(err error) *ErrorInfo {
	return &ErrorInfo{Type: tools.TypeOf(err), Message: err.Error()}
}

func (m *Manager) statusLocked(t *task, now stamp) Status {
	st := Status{
		ID: t.id, Name: t.spec.Name, State: t.state, Priority: t.spec.Priority,
		Attempts: t.attempts, MaxAttempts: 1 + t.spec.Retries,
		Submitted: m.time(t.submitted), Started: m.time(t.started), Finished: m.time(t.finished),
		NextAttempt: m.time(t.next), QueueWait: t.queueWait, RunTime: t.runTime,
		Spent: t.spent, Budget: t.spec.Budget, CancelRequested: t.cancelReq && t.state == Running,
		Result: t.result, Error: t.err,
	}
	if len(t.tags) > 0 {
		st.Tags = make(map[string]string, len(t.tags))
		for _, tg := range t.tags {
			st.Tags[tg.k] = tg.v
		}
	}
	switch t.state {
	case Queued:
		st.QueueWait += now.sub(t.mark)
	case Running:
		if t.cancel != nil {
			st.RunTime += now.sub(t.mark)
		}
	}
	return st
}

func (t *task) hasTag(k, v string) bool {
	for _, tg := range t.tags {
		if tg.k == k {
			return tg.v == v
		}
	}
	return false
}

// work is a worker: it runs attempts until the manager closes.
func (m *Manager) work() {
	defer m.workers.Done()
	for {
		t, waited := m.next()
		if t == nil {
			return
		}
		m.attempt(t, waited)
	}
}

// next blocks until a task is due for an attempt, waits for the rate
// limit, and takes the task out of the queue as running, with the time it
// waited queued. It returns nil once the manager closes.
func (m *Manager) next() (*task, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if m.closed {
			return nil, 0
		}
		if m.queue.Len() <= m.claims {
			m.cond.Wait()
			continue
		}
		if m.limiter != nil {
			// Hold a place in the queue while waiting for a token, so
			// that other workers wait for other tasks; the task itself
			// is chosen after the wait, so a higher priority submitted
			// meanwhile goes first.
			m.claims++
			m.mu.Unlock()
			waited, ok := m.waitToken()
			m.mu.Lock()
			m.claims--
			if waited > 0 {
				m.stats.RateLimitWaits++
				m.stats.RateLimitWait += waited
			}
			if !ok || m.queue.Len() == 0 {
				continue // closed, or the task was cancelled meanwhile
			}
		}
		t := heap.Pop(&m.queue).(*task)
		waited := m.now().sub(t.mark)
		t.queueWait += waited
		t.state = Running
		m.running++
		return t, waited
	}
}

// waitToken waits for the rate limiter's next token. It reports the time
// waited, and false when the manager closed first.
func (m *Manager) waitToken() (time.Duration, bool) {
	r := m.limiter.Reserve()
	d := r.Delay()
	if d <= 0 {
		return 0, true
	}
	if m.obs != nil {
		m.obs.RateLimitWait(d)
	}
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
		return d, true
	case <-m.closing:
		timer.Stop()
		r.Cancel()
		return d, false
	}
}

// attempt makes one attempt of t, which next took out of the queue, and
// settles its outcome: finished, or retrying after a backoff. queueWait is
// how long it waited queued for this attempt.
func (m *Manager) attempt(t *task, queueWait time.Duration) {
	n := t.attempts + 1
	limit := t.spec.Timeout
	cctx, cancel := context.WithCancelCause(context.Background())
	ctx, stop := context.WithTimeoutCause(cctx, limit, &TimeoutError{ID: t.id, Attempt: n, Limit: limit})
	defer func() {
		stop()
		cancel(nil)
	}()

	now := m.now()
	m.mu.Lock()
	if t.cancelReq || m.closed {
		cause := t.cancelCause
		if cause == nil {
			cause = tools.Errorf(tools.TypeCancelled, "task %s: cancelled: the task manager closed", t.id)
		}
		m.running--
		st := m.endLocked(t, Cancelled, nil, errInfo(cause), now)
		m.mu.Unlock()
		m.finished(st)
		return
	}
	if b := t.spec.Budget; b > 0 && (t.spent >= b || t.spent+t.spec.Cost > b) {
		info := &ErrorInfo{Type: TypeBudget, Message: fmt.Sprintf(
			"task %s: budget exhausted before attempt %d: spent %g of %g, the attempt costs %g", t.id, n, t.spent, b, t.spec.Cost)}
		if t.err != nil {
			info.Message += "; last error: " + t.err.Message
		}
		m.running--
		st := m.endLocked(t, Failed, nil, info, now)
		m.mu.Unlock()
		m.finished(st)
		return
	}
	t.spent += t.spec.Cost
	t.attempts = n
	if n == 1 {
		t.started = now
	}
	t.mark = now
	t.cancel = cancel
	m.notifyLocked(t, now)
	a := &Attempt{m: m, t: t, n: n}
	spec := t.spec
	running := m.running
	m.mu.Unlock()
	if m.obs != nil {
		m.obs.TaskStarted(queueWait, running)
	}

	res, err := m.call(ctx, t, spec, a)
	end := m.now()

	// A result that arrives after the context ended is discarded: the
	// cause says which limit fired or who cancelled.
	var info *ErrorInfo
	outcome := Succeeded
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		info, res = errInfo(cause), nil
		outcome = Cancelled
		if _, ok := cause.(*TimeoutError); ok {
			outcome = TimedOut
		}
	} else if err != nil {
		info, res = errInfo(err), nil
		switch info.Type {
		case tools.TypeTimeout:
			outcome = TimedOut
		case tools.TypeCancelled:
			outcome = Cancelled
		default:
			outcome = Failed
		}
	}

	m.mu.Lock()
	a.over = true
	t.runTime += end.sub(t.mark)
	t.cancel = nil
	m.running--
	if t.cancelReq && outcome != Cancelled {
		// Cancel came as the runner returned: the cancel wins, as Cancel
		// promised.
		outcome, res, info = Cancelled, nil, errInfo(t.cancelCause)
	}
	if outcome == Failed || outcome == TimedOut {
		t.err = info // kept for the message of a later budget failure
		if n <= t.spec.Retries && retryable(info.Type) && !t.cancelReq && !m.closed {
			m.retryLocked(t, n, end)
			m.mu.Unlock()
			if m.obs != nil {
				m.obs.TaskRetried()
			}
			return
		}
	}
	st := m.endLocked(t, outcome, res, info, end)
	m.mu.Unlock()
	m.finished(st)
}

// retryable reports whether another attempt could help after an error of
// type typ.
func retryable(typ tools.ErrorType) bool {
	switch typ {
	case tools.TypeValidation, tools.TypeNotFound, tools.TypePermission, TypeBudget, tools.TypeCancelled:
		return false
	}
	return true
}

// retryLocked schedules attempt n+1 of t after its backoff.
func (m *Manager) retryLocked(t *task, n int, now stamp) {
	d := m.backoffLocked(&t.spec, n)
	t.state = Retrying
	t.next = now + stamp(d)
	m.retrying++
	m.stats.Retries++
	m.notifyLocked(t, now)
	m.timers.Add(1)
	t.timer = time.AfterFunc(d, func() { m.requeue(t) })
}

// backoffLocked draws the delay before retry k: uniform in [0, ceiling]
// where the ceiling is Backoff×2^(k-1), capped at MaxBackoff.
func (m *Manager) backoffLocked(s *Spec, k int) time.Duration {
	ceil := min(s.Backoff, s.MaxBackoff)
	for i := 1; i < k && ceil < s.MaxBackoff; i++ {
		if ceil > s.MaxBackoff/2 {
			ceil = s.MaxBackoff
			break
		}
		ceil *= 2
	}
	ceil = min(ceil, s.MaxBackoff)
	return time.Duration(m.rng.Uint64N(uint64(ceil) + 1))
}

// requeue queues a retrying task again once its backoff is over.
func (m *Manager) requeue(t *task) {
	defer m.timers.Done()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.state != Retrying {
		return // cancelled meanwhile
	}
	t.state, t.timer, t.next = Queued, nil, unset
	t.mark = m.now()
	m.retrying--
	heap.Push(&m.queue, t)
	m.notifyLocked(t, t.mark)
	m.cond.Signal()
}

// endLocked finishes t, prunes, and returns its status when an observer
// wants it.
func (m *Manager) endLocked(t *task, s State, res any, info *ErrorInfo, now stamp) *Status {
	m.finishLocked(t, s, res, info, now)
	m.pruneLocked(now)
	if m.obs == nil {
		return nil
	}
	st := m.statusLocked(t, now)
	return &st
}

func (m *Manager) finished(st *Status) {
	if st != nil {
		m.obs.TaskFinished(*st)
	}
}

// call runs the BeforeAttempt hook and the runner of s, t's spec, turning
// a panic into an internal error.
func (m *Manager) call(ctx context.Context, t *task, s Spec, a *Attempt) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &tools.Error{Type: tools.TypeInternal, Op: "task " + t.id,
				Err: fmt.Errorf("attempt %d panicked: %v", a.n, r)}
		}
	}()
	if m.cfg.BeforeAttempt != nil {
		hs := s // only the hook's copy escapes
		if len(t.tags) > 0 {
			hs.Tags = make(map[string]string, len(t.tags))
			for _, tg := range t.tags {
				hs.Tags[tg.k] = tg.v
			}
		}
		if err := m.cfg.BeforeAttempt(ctx, &hs, a.n); err != nil {
			return nil, err
		}
	}
	return s.Run(ctx, a)
}
