package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"spellhost/host/task"
	"spellhost/tools"
)

// storeTries bounds the compare-and-set loops: each try re-reads the
// record another writer changed.
const storeTries = 16

// handle takes one message: claims its task, runs the attempt, settles
// the outcome, and gives the slot back.
func (w *Worker) handle(m jetstream.Msg) {
	defer w.wg.Done()
	defer func() { w.slots <- struct{}{} }()
	meta, err := m.Metadata()
	if err != nil {
		m.Term()
		return
	}
	var body message
	if err := json.Unmarshal(m.Data(), &body); err != nil || body.ID == "" {
		m.TermWithReason("not a spellhost task message")
		return
	}
	if !w.limit(m, body.ID) {
		return
	}
	c, ok := w.quick(m, meta, &body)
	if !ok {
		if c, ok = w.claim(m, meta, &body); !ok {
			return
		}
	}
	w.attempt(m, &body, c)
}

// quick claims a task's first delivery from the record its message
// carries, without reading the store back: the compare-and-set writing
// it running uses the revision in the message. It declines (the caller
// then reads the record) on a redelivery, or when the record in the
// message is not a fresh queued one; a conflict means the record changed
// since (a cancel), and the full claim sorts it out.
func (w *Worker) quick(m jetstream.Msg, meta *jetstream.MsgMetadata, body *message) (claim, bool) {
	rec := body.Rec
	if meta.NumDelivered != 1 || rec == nil || body.Rev == 0 {
		return claim{}, false
	}
	if rec.ID != body.ID || rec.State != task.Queued || rec.CancelReq || rec.Attempts != 0 {
		return claim{}, false
	}
	if b := rec.Budget; b > 0 && (rec.Spent >= b || rec.Spent+rec.Cost > b) {
		return claim{}, false
	}
	now := time.Now()
	c := claim{rec: rec, n: 1, fresh: true, preSpent: rec.Spent}
	rec.Spent += rec.Cost
	rec.QueueWait += max(0, now.Sub(rec.Mark))
	rec.State, rec.Attempts, rec.Mark, rec.Worker, rec.Started = task.Running, 1, now, w.id, now
	rec.Seq = meta.Sequence.Stream
	rec.log(task.Running, now, w.id, "")
	nrev, err := w.put(context.Background(), rec, body.Rev)
	if err != nil {
		return claim{}, false
	}
	c.rev = nrev
	return c, true
}

// claim is a task a worker took for an attempt.
type claim struct {
	rec      *record
	rev      uint64
	n        int     // the attempt's number
	fresh    bool    // a new attempt, not one re-run after a lost worker
	preSpent float64 // spent before the claim charged the cost
}

// claim moves the task of m to running under this worker, or settles m
// when there is nothing to run: the task ended already, was cancelled,
// has no budget left, or lost its worker too often.
func (w *Worker) claim(m jetstream.Msg, meta *jetstream.MsgMetadata, body *message) (claim, bool) {
	ctx := context.Background()
	for range storeTries {
		rec, rev, err := w.get(ctx, body.ID)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			// The submitter publishes before it writes the record: give
			// it time, then drop a message whose record never came.
			if meta.NumDelivered < 8 {
				m.NakWithDelay(time.Duration(meta.NumDelivered) * 25 * time.Millisecond)
			} else {
				m.TermWithReason("no task record")
			}
			return claim{}, false
		}
		if err != nil {
			m.NakWithDelay(time.Second)
			return claim{}, false
		}
		now := time.Now()
		c := claim{rec: rec, preSpent: rec.Spent}
		note := ""
		switch rec.State {
		case task.Queued, task.Retrying:
			c.n, c.fresh = rec.Attempts+1, true
		case task.Running:
			if meta.NumDelivered <= 1 {
				// A second message of a task another one already runs.
				m.Ack()
				return claim{}, false
			}
			// Redelivered after the lease ran out: the worker that held
			// it stopped heartbeating. Run the attempt again.
			rec.Lost++
			note = "worker lost: " + rec.Worker
			c.n = rec.Attempts
			if rec.Lost > w.cfg.MaxLost {
				rec.State, rec.Finished = task.Failed, now
				rec.RunTime += max(0, now.Sub(rec.Mark))
				rec.Error = &task.ErrorInfo{Type: tools.TypeExecution, Message: fmt.Sprintf(
					"task %s: its worker was lost %d times (the latest %s); not running it again", rec.ID, rec.Lost, note)}
				rec.log(task.Failed, now, w.id, note)
				if _, err := w.put(ctx, rec, rev); conflict(err) {
					continue
				}
				m.Term()
				return claim{}, false
			}
		default:
			m.Ack() // terminal: a redelivery after the work was done
			return claim{}, false
		}
		if rec.CancelReq {
			w.end(rec, task.Cancelled, nil, &task.ErrorInfo{Type: tools.TypeCancelled, Message: rec.CancelMsg}, now)
			if _, err := w.put(ctx, rec, rev); conflict(err) {
				continue
			}
			m.Ack()
			return claim{}, false
		}
		if b := rec.Budget; c.fresh && b > 0 && (rec.Spent >= b || rec.Spent+rec.Cost > b) {
			info := &task.ErrorInfo{Type: task.TypeBudget, Message: fmt.Sprintf(
				"task %s: budget exhausted before attempt %d: spent %g of %g, the attempt costs %g", rec.ID, c.n, rec.Spent, b, rec.Cost)}
			if rec.Error != nil {
				info.Message += "; last error: " + rec.Error.Message
			}
			w.end(rec, task.Failed, nil, info, now)
			if _, err := w.put(ctx, rec, rev); conflict(err) {
				continue
			}
			m.Term()
			return claim{}, false
		}
		if c.fresh {
			rec.Spent += rec.Cost
			from := rec.Mark
			if rec.State == task.Retrying && !rec.NextAttempt.IsZero() {
				from = rec.NextAttempt // the backoff is no queue wait
			}
			rec.QueueWait += max(0, now.Sub(from))
		} else {
			rec.RunTime += max(0, now.Sub(rec.Mark))
		}
		rec.State, rec.Attempts, rec.Mark, rec.Worker = task.Running, c.n, now, w.id
		rec.NextAttempt = time.Time{}
		rec.Seq = meta.Sequence.Stream
		if rec.Started.IsZero() {
			rec.Started = now
		}
		rec.log(task.Running, now, w.id, note)
		nrev, err := w.put(ctx, rec, rev)
		if conflict(err) {
			continue
		}
		if err != nil {
			m.NakWithDelay(time.Second)
			return claim{}, false
		}
		c.rev = nrev
		return c, true
	}
	m.NakWithDelay(100 * time.Millisecond)
	return claim{}, false
}

// end moves rec to a terminal state.
func (w *Worker) end(rec *record, s task.State, res json.RawMessage, info *task.ErrorInfo, now time.Time) {
	if rec.State == task.Running {
		rec.RunTime += max(0, now.Sub(rec.Mark))
	}
	rec.State, rec.Result, rec.Error, rec.Finished = s, res, info, now
	rec.NextAttempt = time.Time{}
	rec.log(s, now, w.id, "")
}

// attempt runs the claimed attempt and settles its outcome.
func (w *Worker) attempt(m jetstream.Msg, body *message, c claim) {
	rec, n := c.rec, c.n
	cctx, cancel := context.WithCancelCause(context.Background())
	ctx, stop := context.WithTimeoutCause(cctx, rec.Timeout, &task.TimeoutError{ID: rec.ID, Attempt: n, Limit: rec.Timeout})
	defer func() {
		stop()
		cancel(nil)
	}()
	r := &run{id: rec.ID, msg: m, cancel: cancel, since: time.Now()}
	w.mu.Lock()
	w.runs[rec.ID] = r
	w.mu.Unlock()
	select {
	case <-w.handed:
		cancel(errHandBack) // closing: hand it back at once
	default:
	}

	var mu sync.Mutex
	spent, over := rec.Spent, false
	spend := func(x float64) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case over:
			return tools.Invalid("task %s: spend after attempt %d returned", rec.ID, n)
		case rec.Budget > 0 && spent+x > rec.Budget:
			return tools.Errorf(task.TypeBudget, "task %s: budget exhausted: spending %g would bring %g to %g, over the budget of %g",
				rec.ID, x, spent, spent+x, rec.Budget)
		}
		spent += x
		return nil
	}
	a := task.NewAttempt(rec.ID, n, rec.Tags, spend)
	res, err := task.Call(rec.ID, n, func() (any, error) {
		if h := w.cfg.BeforeAttempt; h != nil {
			s := rec.spec()
			if err := h(ctx, &s, n); err != nil {
				return nil, err
			}
		}
		return w.execute(ctx, a, rec, body)
	})
	endAt := time.Now()
	mu.Lock()
	over = true
	mu.Unlock()
	w.mu.Lock()
	delete(w.runs, rec.ID)
	w.mu.Unlock()

	if errors.Is(context.Cause(cctx), errHandBack) {
		w.handBack(m, c, endAt)
		return
	}
	state, res, info := task.Outcome(ctx, res, err)
	var resJSON json.RawMessage
	if state == task.Succeeded && res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			state, info = task.Failed, &task.ErrorInfo{Type: tools.TypeExecution,
				Message: fmt.Sprintf("task %s: result: not representable as JSON: %v", rec.ID, err)}
		} else {
			resJSON = b
		}
	}
	w.settle(m, c, state, resJSON, info, spent, endAt)
}

// execute runs the attempt's work: the pinned runner, or the executor of
// its kind.
func (w *Worker) execute(ctx context.Context, a *task.Attempt, rec *record, body *message) (any, error) {
	if rec.Pin != "" {
		var run task.Runner
		if rec.Pin == w.cfg.pin && w.cfg.runner != nil {
			run = w.cfg.runner(rec.ID)
		}
		if run == nil {
			return nil, &tools.Error{Type: tools.TypeCancelled, Op: "task " + rec.ID, Err: ErrLostRunner}
		}
		return run(ctx, a)
	}
	exec := w.cfg.Executors[body.Kind]
	if exec == nil {
		return nil, tools.Invalid("task %s: worker %s runs no work of kind %q", rec.ID, w.id, body.Kind)
	}
	return exec(ctx, a, body.Body)
}

// settle writes the attempt's outcome: the task ends, or waits out a
// backoff in the stream before its next attempt.
func (w *Worker) settle(m jetstream.Msg, c claim, state task.State, res json.RawMessage, info *task.ErrorInfo, spent float64, endAt time.Time) {
	ctx := context.Background()
	rec, rev, n := c.rec, c.rev, c.n
	for range storeTries {
		if rec.State != task.Running || rec.Worker != w.id || rec.Attempts != n {
			return // another worker took the task over: its outcome counts
		}
		rec.Spent = spent
		st, r, inf := state, res, info
		if rec.CancelReq && st != task.Cancelled {
			// The cancel came as the attempt returned: the cancel wins.
			st, r, inf = task.Cancelled, nil, &task.ErrorInfo{Type: tools.TypeCancelled, Message: rec.CancelMsg}
		}
		retry := (st == task.Failed || st == task.TimedOut) && n <= rec.Retries && task.Retryable(inf.Type) && !rec.CancelReq
		var d time.Duration
		if retry {
			s := rec.spec()
			d = task.Backoff(rec.Seed, rec.ID, &s, n)
			rec.RunTime += max(0, endAt.Sub(rec.Mark))
			rec.State, rec.Error = task.Retrying, inf
			rec.NextAttempt, rec.Mark = endAt.Add(d), endAt.Add(d)
			rec.log(task.Retrying, endAt, w.id, "")
		} else {
			w.end(rec, st, r, inf, endAt)
		}
		_, err := w.put(ctx, rec, rev)
		if conflict(err) {
			if rec, rev, err = w.get(ctx, c.rec.ID); err != nil {
				return
			}
			continue
		}
		if err != nil {
			return // the lease runs out and another worker runs it again
		}
		w.done.Add(1)
		switch {
		case retry:
			m.NakWithDelay(d)
			w.backoff(time.Now().Add(d))
		case st == task.Succeeded || st == task.Cancelled:
			m.Ack()
		default:
			m.Term()
		}
		return
	}
}

// handBack returns a task whose attempt the closing worker cut short to
// the queue, as if the attempt had not started, and naks its message so
// another worker takes it at once.
func (w *Worker) handBack(m jetstream.Msg, c claim, endAt time.Time) {
	ctx := context.Background()
	rec, rev := c.rec, c.rev
	for range storeTries {
		if rec.State != task.Running || rec.Worker != w.id || rec.Attempts != c.n {
			return
		}
		rec.RunTime += max(0, endAt.Sub(rec.Mark))
		if c.fresh {
			rec.Attempts--
			rec.Spent = c.preSpent
		}
		rec.State, rec.Worker, rec.Mark = task.Queued, "", endAt
		rec.log(task.Queued, endAt, w.id, "handed back: the worker closed")
		_, err := w.put(ctx, rec, rev)
		if conflict(err) {
			var err error
			if rec, rev, err = w.get(ctx, c.rec.ID); err != nil {
				return
			}
			continue
		}
		if err == nil {
			m.Nak()
		}
		return
	}
}
