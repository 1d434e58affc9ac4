package task

// How tasks end: cancellation, the terminal states, and the retention of
// finished tasks.

import (
	"container/heap"

	"spellhost/tools"
)

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
