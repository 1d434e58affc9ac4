package durable

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"spellhost/host/task"
	"spellhost/tools"
)

// WorkerConfig configures a worker process's share of a namespace's work.
type WorkerConfig struct {
	// Namespace is the kernel namespace whose tasks it runs (default
	// "default").
	Namespace string
	// Workers is the number of attempts it runs at once (default 4).
	Workers int
	// Executors run tasks described as Work, by kind. A task of a kind
	// with no executor here fails with validation_error.
	Executors map[string]task.Executor
	// BeforeAttempt, when set, runs before each attempt as the Manager's
	// hook does (fault injection).
	BeforeAttempt func(ctx context.Context, s *task.Spec, attempt int) error
	// MaxLost is how many lost workers a task survives (default 3).
	MaxLost int
	// DrainTimeout is how long Close lets attempts in progress finish
	// before handing their tasks back (default 10s).
	DrainTimeout time.Duration
	// Host names the machine in the worker's identity (default
	// os.Hostname).
	Host string

	// pin and runner: the kernel's own worker also runs the tasks pinned
	// to its node, with the runners its queue holds.
	pin    string
	runner func(id string) task.Runner
	// wrote, when set, learns each record the worker wrote (the kernel's
	// view, without waiting for the watch).
	wrote func(id string, raw []byte, rev uint64)
	// lease for the consumers (0: as they are).
	lease  time.Duration
	layout layout
}

// Worker pulls tasks of a namespace and runs them. Close drains it.
type Worker struct {
	cfg  WorkerConfig
	nc   *nats.Conn
	st   *store
	id   string
	cons []*bandConsumer // highest band first; pinned before shared
	wait time.Duration   // the consumers' AckWait, the lease

	slots chan struct{} // a token per free slot
	wake  chan struct{}
	stop  chan struct{}
	subs  []*nats.Subscription
	wg    sync.WaitGroup // the dispatcher, the heartbeat, the attempts

	mu      sync.Mutex
	runs    map[string]*run
	closed  bool
	rc      rateConfig    // the namespace's rate setting
	rlWaits int64         // rate-limit waits
	rlWait  time.Duration // their total
	due     []time.Time   // when the tasks this worker nak'd for a backoff come back

	started time.Time
	done    atomic.Int64
	handed  chan struct{} // closed when Close starts handing back attempts
	once    sync.Once
}

// bandConsumer is a consumer, the index of its band, and whether it may
// hold a task.
type bandConsumer struct {
	jetstream.Consumer
	band int
	flag bandFlag
}

// run is an attempt in progress.
type run struct {
	id     string
	msg    jetstream.Msg
	cancel context.CancelCauseFunc
	since  time.Time
}

// errHandBack is the cause that ends an attempt when its worker closes
// before the attempt finished: the task goes back to the queue.
var errHandBack = errors.New("the worker is closing: the task goes back to the queue")

// NewWorker connects a worker to the namespace over nc and starts it. The
// namespace's stream and consumers are created when missing.
func NewWorker(ctx context.Context, nc *nats.Conn, cfg WorkerConfig) (*Worker, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if err := CheckNamespace(cfg.Namespace); err != nil {
		return nil, err
	}
	switch {
	case cfg.Workers < 0:
		return nil, tools.Invalid("task worker: workers %d: want 0 (default %d) or more", cfg.Workers, task.DefaultWorkers)
	case cfg.MaxLost < 0:
		return nil, tools.Invalid("task worker: max lost %d: want 0 (default %d) or more", cfg.MaxLost, DefaultMaxLost)
	case cfg.DrainTimeout < 0:
		return nil, tools.Invalid("task worker: drain timeout %v: want 0 (default %v) or more", cfg.DrainTimeout, DefaultDrainTimeout)
	}
	if cfg.Workers == 0 {
		cfg.Workers = task.DefaultWorkers
	}
	if cfg.MaxLost == 0 {
		cfg.MaxLost = DefaultMaxLost
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, storeError("connect", err)
	}
	n := namesOf(cfg.Namespace)
	l := cfg.layout
	if l.queueCap == 0 {
		l.queueCap = task.DefaultQueueCap
	}
	st, err := open(ctx, js, n, l, false)
	if err != nil {
		return nil, storeError("open", err)
	}
	w := &Worker{cfg: cfg, nc: nc, st: st, id: workerID(cfg.Host),
		slots: make(chan struct{}, cfg.Workers), wake: make(chan struct{}, 1), stop: make(chan struct{}),
		runs: map[string]*run{}, started: time.Now(), handed: make(chan struct{})}
	for range cfg.Workers {
		w.slots <- struct{}{}
	}
	for i, b := range bands {
		if cfg.pin != "" {
			c, err := st.consumer(ctx, b, cfg.pin, cfg.lease)
			if err != nil {
				return nil, storeError("open", err)
			}
			w.cons = append(w.cons, &bandConsumer{Consumer: c, band: i})
		}
		c, err := st.consumer(ctx, b, "", cfg.lease)
		if err != nil {
			return nil, storeError("open", err)
		}
		w.cons = append(w.cons, &bandConsumer{Consumer: c, band: i})
		if w.wait == 0 {
			w.wait = c.CachedInfo().Config.AckWait
		}
	}
	if w.wait <= 0 {
		w.wait = DefaultLease
	}
	w.ringAll()
	sub, err := nc.Subscribe(n.wake, func(m *nats.Msg) { w.ringBand(bandIndex(string(m.Data))) })
	if err != nil {
		return nil, storeError("subscribe", err)
	}
	w.subs = append(w.subs, sub)
	sub, err = nc.Subscribe(n.cancel, func(m *nats.Msg) { w.cancelRun(string(m.Data)) })
	if err != nil {
		w.unsubscribe()
		return nil, storeError("subscribe", err)
	}
	w.subs = append(w.subs, sub)
	w.rc = w.rate(ctx)
	w.wg.Add(2)
	go w.dispatch()
	go w.heartbeat()
	return w, nil
}

func workerID(host string) string {
	var b [4]byte
	rand.Read(b[:])
	if host == "" {
		host = "unknown"
	}
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// ID is the worker's identity: host/pid/random.
func (w *Worker) ID() string { return w.id }

// Info describes the worker now.
func (w *Worker) Info() task.WorkerInfo {
	w.mu.Lock()
	running := len(w.runs)
	w.mu.Unlock()
	return task.WorkerInfo{ID: w.id, Host: w.cfg.Host, Slots: w.cfg.Workers, Running: running,
		Done: w.done.Load(), Started: w.started, LastSeen: time.Now()}
}

func (w *Worker) ring() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) unsubscribe() {
	for _, s := range w.subs {
		s.Unsubscribe()
	}
	w.subs = nil
}

// Close stops fetching, lets the attempts in progress finish for up to
// DrainTimeout, then ends the rest and hands their tasks back to the
// queue (their records go back to queued, their messages are nak'd at
// once), and returns when every goroutine of the worker has ended. Close
// is idempotent.
func (w *Worker) Close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
		t := time.NewTimer(w.cfg.DrainTimeout)
		defer t.Stop()
		idle := make(chan struct{})
		go func() {
			for range w.cfg.Workers {
				<-w.slots
			}
			close(idle)
		}()
		select {
		case <-idle:
		case <-t.C:
			close(w.handed)
			w.mu.Lock()
			for _, r := range w.runs {
				r.cancel(errHandBack)
			}
			w.mu.Unlock()
			<-idle
		}
		w.unsubscribe()
		w.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), beatTimeout)
		w.st.workers.Delete(ctx, workerKey(w.id))
		cancel()
	})
}

// workerKey is a worker's key in the workers bucket (no '/' there).
func workerKey(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c == '/' {
			b[i] = '.'
		}
	}
	return string(b)
}

// dispatch fetches as many tasks as there are free slots, highest band
// first, and starts an attempt for each; with nothing to fetch it waits
// for the doorbell (a submit) or a second, whichever comes first. It asks
// only the bands that may hold a task: one the doorbell rang for, or that
// gave all it was asked the last time. With a backlog it gathers a
// quarter of its slots (or waits a millisecond) before fetching, so a
// fetch brings a batch rather than one task.
func (w *Worker) dispatch() {
	defer w.wg.Done()
	idle := time.NewTimer(time.Second)
	defer idle.Stop()
	batch := max(1, cap(w.slots)/4)
	backlog := false
	for {
		select {
		case <-w.slots:
		case <-w.stop:
			return
		}
		free := 1
		if backlog && free < batch {
			t := time.NewTimer(time.Millisecond)
		gather:
			for free < batch {
				select {
				case <-w.slots:
					free++
				case <-t.C:
					break gather
				case <-w.stop:
					t.Stop()
					for range free {
						w.slots <- struct{}{}
					}
					return
				}
			}
			t.Stop()
		}
	more:
		for free < cap(w.slots) {
			select {
			case <-w.slots:
				free++
			default:
				break more
			}
		}
		got := 0
		backlog = false
		for _, c := range w.cons {
			if got == free {
				backlog = true // a band gave all it was asked
				break
			}
			f := &c.flag
			g := f.rung.Load()
			if g == f.seen.Load() {
				continue // nothing there since it was last found empty
			}
			ask := free - got
			msgs, err := c.FetchNoWait(ask)
			if err != nil {
				break
			}
			n := 0
			for m := range msgs.Messages() {
				n++
				w.wg.Add(1)
				go w.handle(m)
			}
			got += n
			if n < ask {
				f.seen.Store(g)
			}
		}
		for range free - got {
			w.slots <- struct{}{}
		}
		if got > 0 {
			continue
		}
		idle.Reset(w.idleWait())
		select {
		case <-w.wake:
		case <-idle.C:
			w.ringAll() // a redelivery rings no doorbell: look everywhere
		case <-w.stop:
			return
		}
	}
}

// bandFlag says whether a consumer may hold a task: the doorbell's rings
// for its band, and the ring count when a fetch last found it empty.
type bandFlag struct {
	rung, seen atomic.Int64
}

// ringBand marks band b (an index of bands, or -1 for all) as worth a
// fetch, and wakes the dispatcher.
func (w *Worker) ringBand(b int) {
	for _, c := range w.cons {
		if b < 0 || b == c.band {
			c.flag.rung.Add(1)
		}
	}
	w.ring()
}

func (w *Worker) ringAll() { w.ringBand(-1) }

func bandIndex(name string) int {
	for i, b := range bands {
		if b == name {
			return i
		}
	}
	return -1
}

// idleWait is how long an idle dispatcher waits for the doorbell: a
// second, or until just after the next backoff this worker started ends
// (the doorbell does not ring for a nak'd message coming back).
func (w *Worker) idleWait() time.Duration {
	const margin = 2 * time.Millisecond
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.due = slices.DeleteFunc(w.due, func(t time.Time) bool { return now.After(t.Add(50 * margin)) })
	d := time.Second
	for _, t := range w.due {
		d = min(d, max(margin, t.Sub(now)+margin))
	}
	return d
}

// backoff notes a task nak'd until at.
func (w *Worker) backoff(at time.Time) {
	w.mu.Lock()
	w.due = append(w.due, at)
	w.mu.Unlock()
	w.ring()
}

// heartbeat keeps the attempts' leases (InProgress every third of the
// lease), looks for cancel requests a worker may have missed, and writes
// the worker's own heartbeat for Task.stats.
func (w *Worker) heartbeat() {
	defer w.wg.Done()
	every := min(max(w.wait/3, 10*time.Millisecond), workerHeartbeat)
	t := time.NewTicker(every)
	defer t.Stop()
	var lastBeat time.Time
	for {
		now := time.Now()
		w.mu.Lock()
		runs := make([]*run, 0, len(w.runs))
		for _, r := range w.runs {
			runs = append(runs, r)
		}
		w.mu.Unlock()
		for _, r := range runs {
			if now.Sub(r.since) < every {
				continue
			}
			r.msg.InProgress()
			if r.cancel == nil {
				continue // waiting for the rate limit
			}
			ctx, cancel := context.WithTimeout(context.Background(), beatTimeout)
			e, err := w.st.tasks.Get(ctx, r.id)
			cancel()
			if err == nil {
				var rec record
				if json.Unmarshal(e.Value(), &rec) == nil && rec.CancelReq {
					r.cancel(tools.Errorf(tools.TypeCancelled, "%s", rec.CancelMsg))
				}
			}
		}
		if now.Sub(lastBeat) >= workerHeartbeat {
			lastBeat = now
			ctx, cancel := context.WithTimeout(context.Background(), beatTimeout)
			rc := w.rate(ctx)
			w.mu.Lock()
			w.rc = rc
			w.mu.Unlock()
			if b, err := json.Marshal(w.Info()); err == nil {
				w.st.workers.Put(ctx, workerKey(w.id), b)
			}
			cancel()
		}
		select {
		case <-t.C:
		case <-w.stop:
			return
		}
	}
}

// cancelRun cancels the attempt of task id, when this worker runs it.
func (w *Worker) cancelRun(id string) {
	w.mu.Lock()
	r := w.runs[id]
	w.mu.Unlock()
	if r == nil || r.cancel == nil {
		return
	}
	// The record says why; read it so the error is the canceller's.
	cause := tools.Errorf(tools.TypeCancelled, "task %s: cancelled by Task.cancel", id)
	if e, err := w.st.tasks.Get(context.Background(), id); err == nil {
		var rec record
		if json.Unmarshal(e.Value(), &rec) == nil && rec.CancelMsg != "" {
			cause = tools.Errorf(tools.TypeCancelled, "%s", rec.CancelMsg)
		}
	}
	r.cancel(cause)
}

// get reads a task's record.
func (w *Worker) get(ctx context.Context, id string) (*record, uint64, error) {
	e, err := w.st.tasks.Get(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("record %s: %w", id, err)
	}
	return &r, e.Revision(), nil
}

// put writes r over revision rev; a conflict is jetstream.ErrKeyExists or
// jetstream.ErrKeyRevisionMismatch.
func (w *Worker) put(ctx context.Context, r *record, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	nrev, err := w.st.tasks.Update(ctx, r.ID, b, rev)
	if err == nil && w.cfg.wrote != nil {
		w.cfg.wrote(r.ID, b, nrev)
	}
	return nrev, err
}

func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
