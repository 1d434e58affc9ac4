package task

// The workers: taking tasks off the queue under the rate limit, running
// their attempts, and retrying with backoff.

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	"spellhost/tools"
)

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
		m.obs.TaskStarted(t.tagMap(), queueWait, running)
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
				m.obs.TaskRetried(t.tagMap())
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
