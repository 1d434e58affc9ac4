package task

import (
	"container/heap"
	"context"
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
