package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"spellhost/host/task"
	"spellhost/tools"
)

// Config configures a kernel's durable queue.
type Config struct {
	// Config holds the settings the in-process manager takes, with the
	// same defaults: Workers is the number of attempts this process runs
	// itself (see NoLocalWorkers), QueueCap the stream's capacity (running
	// tasks count too: their messages stay until acknowledged), retention
	// what this kernel keeps and purges.
	task.Config
	// Namespace separates kernels sharing a NATS cluster (default
	// "default"); kernels that name the same namespace share its tasks.
	Namespace string
	// NoLocalWorkers: this process runs no attempts; worker processes do.
	// Tasks with a Runner and no Work (Lua functions, until workers can
	// run them) are then refused.
	NoLocalWorkers bool
	// Executors run Work on this process's own workers, by kind.
	Executors map[string]task.Executor
	// Lease is the consumers' AckWait (default 30s): a worker that stops
	// heartbeating hands its task back after it.
	Lease time.Duration
	// MaxLost is how many lost workers a task survives (default 3).
	MaxLost int
	// CancelOnClose: Close cancels every live task, as the in-process
	// manager does (a run's tasks end with the run). Without it, Close
	// leaves them queued for the next kernel or for workers elsewhere.
	CancelOnClose bool
	// DrainTimeout is how long Close lets this process's attempts finish
	// before handing them back (default 10s).
	DrainTimeout time.Duration
	// Replicas of the stream and buckets on a cluster (default 1).
	Replicas int
	// Memory keeps the stream and buckets in memory (tests).
	Memory bool
	// Release, when set, runs at the end of Close: it closes the
	// connection and what the caller started for it.
	Release func()
}

// Queue is the kernel's side of the durable backend: it submits, reads,
// waits for and cancels tasks, keeps a view of the namespace's records
// (a watch on the bucket), and runs the process's own workers.
type Queue struct {
	cfg  Config
	nc   *nats.Conn
	st   *store
	node string
	obs  task.Observer
	w    *Worker // nil with NoLocalWorkers

	runners sync.Map // id → task.Runner of the tasks pinned to this node

	idMu          sync.Mutex
	idNext, idEnd uint64

	v *view

	closeOnce sync.Once
	// lastWorkers is what Workers said as Close began, for a summary
	// written after it.
	lastWorkers []task.WorkerInfo
	workersAt   time.Time // when lastWorkers was read; Workers reads at most once a second
	closedMu    sync.Mutex
	closed      bool
}

var (
	_ task.Queue        = (*Queue)(nil)
	_ task.Durable      = (*Queue)(nil)
	_ task.WorkerLister = (*Queue)(nil)
)

// New opens the namespace's store over nc (creating or updating its
// stream and buckets with cfg's capacity and lease), loads the records
// there, and starts this process's workers.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Queue, error) {
	tc, err := task.ResolveConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	cfg.Config = tc
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if err := CheckNamespace(cfg.Namespace); err != nil {
		return nil, err
	}
	switch {
	case cfg.Lease < 0:
		return nil, tools.Invalid("task config: lease %v: want 0 (default %v) or more", cfg.Lease, DefaultLease)
	case cfg.Replicas < 0:
		return nil, tools.Invalid("task config: replicas %d: want 0 (default 1) or more", cfg.Replicas)
	case cfg.DrainTimeout < 0:
		return nil, tools.Invalid("task config: drain timeout %v: want 0 (default %v) or more", cfg.DrainTimeout, DefaultDrainTimeout)
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, storeError("connect", err)
	}
	l := layout{queueCap: cfg.QueueCap, lease: cfg.Lease, replicas: cfg.Replicas, memory: cfg.Memory}
	st, err := open(ctx, js, namesOf(cfg.Namespace), l, true)
	if err != nil {
		return nil, storeError("open", err)
	}
	q := &Queue{cfg: cfg, nc: nc, st: st, obs: cfg.Observer}
	q.node = workerID("")[len("unknown/"):] // pid/random: unique per process start
	q.node = strings.ReplaceAll(q.node, "/", "-")
	if err := q.saveRate(ctx); err != nil {
		return nil, err
	}
	for _, b := range bands {
		// The kernel's lease holds for every worker of the namespace.
		if _, err := st.consumer(ctx, b, "", cfg.Lease); err != nil {
			return nil, storeError("open", err)
		}
	}
	if q.v, err = newView(ctx, q); err != nil {
		return nil, err
	}
	if !cfg.NoLocalWorkers {
		q.w, err = NewWorker(ctx, nc, WorkerConfig{
			Namespace: cfg.Namespace, Workers: cfg.Workers, Executors: cfg.Executors,
			BeforeAttempt: cfg.BeforeAttempt, MaxLost: cfg.MaxLost, DrainTimeout: cfg.DrainTimeout,
			pin: q.node, runner: q.runner, wrote: q.v.wrote, lease: cfg.Lease, layout: l,
		})
		if err != nil {
			q.v.close()
			return nil, err
		}
	}
	return q, nil
}

// Durable reports that the tasks outlive the process.
func (q *Queue) Durable() bool { return true }

func (q *Queue) runner(id string) task.Runner {
	if r, ok := q.runners.Load(id); ok {
		return r.(task.Runner)
	}
	return nil
}

// nextID reserves the next task id from the namespace's counter, a block
// of ids at a time.
func (q *Queue) nextID(ctx context.Context) (string, error) {
	q.idMu.Lock()
	defer q.idMu.Unlock()
	if q.idNext == q.idEnd {
		for range storeTries * 4 {
			var cur uint64
			e, err := q.st.meta.Get(ctx, "seq")
			var rev uint64
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				return "", storeError("task id", err)
			default:
				cur, _ = strconv.ParseUint(string(e.Value()), 10, 64)
				rev = e.Revision()
			}
			next := []byte(strconv.FormatUint(cur+idBlock, 10))
			if rev == 0 {
				_, err = q.st.meta.Create(ctx, "seq", next)
			} else {
				_, err = q.st.meta.Update(ctx, "seq", next, rev)
			}
			if conflict(err) {
				continue
			}
			if err != nil {
				return "", storeError("task id", err)
			}
			q.idNext, q.idEnd = cur+1, cur+idBlock+1
			break
		}
		if q.idNext == q.idEnd {
			return "", storeError("task id", errors.New("the id counter stayed contended"))
		}
	}
	id := task.FormatID(q.idNext)
	q.idNext++
	return id, nil
}

// Submit validates spec, publishes the task's message to its band (a
// full stream answers queue_full and nothing is kept), then writes its
// record. A spec with Work runs on any worker; one with only a Runner runs
// on this process's workers.
func (q *Queue) Submit(spec task.Spec) (string, error) {
	if err := task.ResolveSpec(q.cfg.Config, &spec); err != nil {
		return "", err
	}
	if spec.Run == nil && spec.Work == nil {
		return "", tools.Invalid("task spec: run or work is required")
	}
	if q.v.isClosed() {
		return "", task.ErrClosed
	}
	ctx := context.Background()
	msg := message{}
	pin := ""
	if spec.Work != nil {
		b, err := json.Marshal(spec.Work.Body)
		if err != nil {
			return "", tools.Invalid("task spec: work body: not representable as JSON: %v", err)
		}
		msg.Kind, msg.Body = spec.Work.Kind, b
	} else {
		if q.w == nil {
			return "", tools.Invalid("task spec: this kernel runs no task workers (they run elsewhere), and a task " +
				"with only a function, no work described as data, runs only where it was submitted")
		}
		pin = q.node
	}
	id, err := q.nextID(ctx)
	if err != nil {
		return "", err
	}
	msg.ID = id
	if pin != "" {
		q.runners.Store(id, spec.Run)
	}
	var body []byte
	now := time.Now()
	rec := &record{ID: id, Name: spec.Name, Kind: msg.Kind, Pin: pin, State: task.Queued, Priority: spec.Priority,
		Tags: spec.Tags, Retries: spec.Retries, Timeout: spec.Timeout, Backoff: spec.Backoff,
		MaxBackoff: spec.MaxBackoff, Budget: spec.Budget, Cost: spec.Cost, Seed: q.cfg.Seed,
		Submitted: now, Mark: now}
	if len(spec.Tags) > 0 {
		rec.Tags = make(map[string]string, len(spec.Tags))
		for k, v := range spec.Tags {
			rec.Tags[k] = v
		}
	}
	rec.log(task.Queued, now, "", "")
	val, err := json.Marshal(rec)
	if err != nil {
		q.runners.Delete(id)
		return "", tools.Errorf(tools.TypeInternal, "task %s: record: %v", id, err)
	}
	// The record first, then the message that carries it: a worker
	// never sees a message whose record is missing, and the one that
	// takes it need not read the record back.
	rev, err := q.st.tasks.Create(ctx, id, val)
	if err != nil {
		q.runners.Delete(id)
		return "", storeError("submit", err)
	}
	msg.Rev = rev
	if body, err = json.Marshal(msg); err != nil {
		return "", tools.Errorf(tools.TypeInternal, "task %s: message: %v", id, err)
	}
	// The record goes in as the bytes already encoded: the message ends
	// with "}", and "rec" is its last field.
	body = append(append(append(body[:len(body)-1:len(body)-1], `,"rec":`...), val...), '}')
	ack, err := q.st.js.Publish(ctx, q.st.n.subject(band(spec.Priority), pin), body)
	if err != nil {
		// Withdraw the record: the task was never queued.
		q.runners.Delete(id)
		q.v.withdraw(id, rev)
		q.st.tasks.Purge(ctx, id)
		if full(err) {
			q.v.rejected()
			return "", tools.Errorf(task.TypeQueueFull,
				"task queue full: the stream %s holds %d unfinished tasks, its capacity; submit later or raise the capacity (options.tasks.queue, --task-queue)",
				q.st.n.stream, q.cfg.QueueCap)
		}
		return "", storeError("submit", err)
	}
	q.v.submitted(id, val, rev, ack.Sequence)
	q.nc.Publish(q.st.n.wake, []byte(band(spec.Priority)))
	return id, nil
}

// full reports whether a publish failed for the stream's limits.
func full(err error) bool {
	s := err.Error()
	return strings.Contains(s, "maximum messages exceeded") || strings.Contains(s, "maximum bytes exceeded")
}

// Status returns a task's status now, or not_found.
func (q *Queue) Status(id string) (task.Status, error) { return q.v.status(id) }

// Wait waits until the task is terminal or ctx ends.
func (q *Queue) Wait(ctx context.Context, id string) (task.Status, error) {
	e, err := q.v.find(id)
	if err != nil {
		return task.Status{}, err
	}
	return q.v.wait(ctx, e)
}

// WaitAll waits for every task in ids, in order. An unknown id fails at
// once with not_found.
func (q *Queue) WaitAll(ctx context.Context, ids []string) ([]task.Status, error) {
	es := make([]*entry, len(ids))
	for i, id := range ids {
		var err error
		if es[i], err = q.v.find(id); err != nil {
			return nil, err
		}
	}
	out := make([]task.Status, len(ids))
	var first error
	for i, e := range es {
		if first != nil {
			out[i] = q.v.statusOf(e)
			continue
		}
		out[i], first = q.v.wait(ctx, e)
	}
	return out, first
}

// Cancel cancels a task: a queued or retrying one ends cancelled at once
// (its message is deleted from the stream when this kernel knows where
// it is, else the next worker to get it drops it); a running one is asked
// to stop through its record and the cancel subject, and ends cancelled
// when its attempt returns.
func (q *Queue) Cancel(id string) (task.Status, error) {
	if _, err := q.v.find(id); err != nil {
		return task.Status{}, err
	}
	return q.cancel(id, fmt.Sprintf("task %s: cancelled by Task.cancel", id))
}

func (q *Queue) cancel(id, why string) (task.Status, error) {
	ctx := context.Background()
	for range storeTries {
		e, err := q.st.tasks.Get(ctx, id)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return q.v.status(id)
			}
			return task.Status{}, storeError("cancel", err)
		}
		var rec record
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return task.Status{}, storeError("cancel", err)
		}
		now := time.Now()
		switch rec.State {
		case task.Queued, task.Retrying:
			if rec.State == task.Queued {
				rec.QueueWait += max(0, now.Sub(rec.Mark))
			}
			rec.State, rec.Finished, rec.NextAttempt = task.Cancelled, now, time.Time{}
			rec.Error = &task.ErrorInfo{Type: tools.TypeCancelled, Message: why}
			rec.log(task.Cancelled, now, "", "")
		case task.Running:
			if rec.CancelReq {
				q.nc.Publish(q.st.n.cancel, []byte(id))
				return q.v.status(id)
			}
			rec.CancelReq, rec.CancelMsg = true, why
			rec.log(task.Running, now, rec.Worker, "cancel requested")
		default:
			return q.v.status(id)
		}
		b, err := json.Marshal(&rec)
		if err != nil {
			return task.Status{}, storeError("cancel", err)
		}
		rev, err := q.st.tasks.Update(ctx, id, b, e.Revision())
		if conflict(err) {
			continue
		}
		if err != nil {
			return task.Status{}, storeError("cancel", err)
		}
		q.v.wrote(id, b, rev)
		if rec.State == task.Running {
			q.nc.Publish(q.st.n.cancel, []byte(id))
		} else if seq := q.v.seqOf(id, rec.Seq); seq > 0 {
			q.st.stream.DeleteMsg(ctx, seq) // frees its place in the queue now
		}
		q.runners.Delete(id)
		return q.v.status(id)
	}
	return task.Status{}, storeError("cancel", errors.New("the record stayed contended"))
}

// CancelAll cancels every live task this kernel sees, with reason, and
// returns the ids of those still running.
func (q *Queue) CancelAll(reason string) (running []string) {
	for _, id := range q.v.live() {
		st, err := q.cancel(id, fmt.Sprintf("task %s: cancelled: %s", id, reason))
		if err == nil && st.State == task.Running {
			running = append(running, id)
		}
	}
	return running
}

// List returns a page of the tasks that match f, in submission order.
func (q *Queue) List(f task.Filter) (task.Page, error) { return q.v.list(f) }

// Stats returns the counters of the tasks this kernel sees: those in the
// store when it started, and every one since, whoever submitted it.
func (q *Queue) Stats() task.Stats { return q.v.stats() }

// Watch follows a task's changes of state, as the Manager's Watch does.
func (q *Queue) Watch(id string) (<-chan task.Status, func(), error) { return q.v.watch(id) }

// Workers lists the worker processes whose heartbeat is current, this
// process's own first.
func (q *Queue) Workers() []task.WorkerInfo {
	q.closedMu.Lock()
	if q.closed {
		defer q.closedMu.Unlock()
		return slices.Clone(q.lastWorkers)
	}
	if time.Since(q.workersAt) < time.Second {
		defer q.closedMu.Unlock()
		return slices.Clone(q.lastWorkers)
	}
	q.closedMu.Unlock()
	var out []task.WorkerInfo
	own := ""
	if q.w != nil {
		out = append(out, q.w.Info())
		own = workerKey(q.w.ID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	keys, err := q.st.workers.ListKeys(ctx)
	if err != nil {
		return out
	}
	for k := range keys.Keys() {
		if k == own {
			continue
		}
		e, err := q.st.workers.Get(ctx, k)
		if err != nil {
			continue
		}
		var wi task.WorkerInfo
		if json.Unmarshal(e.Value(), &wi) == nil {
			wi.LastSeen = e.Created()
			out = append(out, wi)
		}
	}
	keys.Stop()
	q.closedMu.Lock()
	if !q.closed {
		q.lastWorkers, q.workersAt = slices.Clone(out), time.Now()
	}
	q.closedMu.Unlock()
	return out
}

// History returns a task's transitions as its record keeps them.
func (q *Queue) History(id string) ([]Transition, error) {
	e, err := q.st.tasks.Get(context.Background(), id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, tools.Errorf(tools.TypeNotFound, "task %s not found", id)
		}
		return nil, storeError("history", err)
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, storeError("history", err)
	}
	return rec.History, nil
}

// Close stops this process's share of the work: with CancelOnClose every
// live task is cancelled first; the local workers drain (attempts finish
// within DrainTimeout, the rest go back to the queue); tasks pinned to
// this process that are still live end cancelled (no other process can
// run them); the view stops, and Release runs. Tasks with Work stay
// queued in the store for the next kernel and for other workers. Close is
// idempotent.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.v.closing()
		ws := q.Workers()
		if q.cfg.CancelOnClose {
			// Running attempts, here or on workers elsewhere, get the
			// drain timeout to end, so the counts after Close are final.
			running := q.CancelAll("the task manager closed")
			ctx, cancel := context.WithTimeout(context.Background(), q.cfg.DrainTimeout)
			q.WaitAll(ctx, running)
			cancel()
		}
		if q.w != nil {
			q.w.Close()
		}
		for _, id := range q.v.live() {
			if q.v.pinnedHere(id, q.node) {
				q.cancel(id, fmt.Sprintf("task %s: cancelled: the task manager closed", id))
			}
		}
		q.v.close()
		if q.w != nil && len(ws) > 0 && ws[0].ID == q.w.ID() {
			ws[0] = q.w.Info() // its final count
		}
		q.closedMu.Lock()
		q.closed, q.lastWorkers = true, ws
		q.closedMu.Unlock()
		if q.cfg.Release != nil {
			q.cfg.Release()
		}
	})
}
