package task

import (
	"slices"
	"sync"

	"spellhost/tools"
)

// WatchBuffer is how many statuses a watch holds for a reader that has
// not caught up. When it is full the oldest is dropped for the newest, so
// a slow reader misses intermediate states but never the latest one, and
// never the final one.
const WatchBuffer = 4

// watcher is one Watch subscription. Its channel is written only under
// Manager.mu, by notifyLocked, so there is one sender at a time.
type watcher struct {
	ch chan Status
}

// Watch follows a task's life. The channel receives the task's current
// status at once, then its status at each change of state (queued again
// after a backoff, an attempt starting, retrying, the end); the last
// status it receives is terminal, and then it is closed. A task already
// terminal gives its final status and a closed channel.
//
// The channel holds WatchBuffer statuses; a reader that falls behind loses
// the oldest, never the final one. Nothing blocks on the reader: the
// manager's work goes on whether or not anyone reads.
//
// stop ends the subscription early; the channel then receives nothing
// more and is left open. Calling stop after the end, or twice, is harmless.
// An unknown id is not_found.
func (m *Manager) Watch(id string) (statuses <-chan Status, stop func(), err error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(now)
	t := m.tasks[id]
	if t == nil {
		return nil, nil, m.notFound(id)
	}
	w := &watcher{ch: make(chan Status, WatchBuffer)}
	w.ch <- m.statusLocked(t, now)
	if t.state.Terminal() {
		close(w.ch)
		return w.ch, func() {}, nil
	}
	if m.watch == nil {
		m.watch = make(map[*task][]*watcher)
	}
	m.watch[t] = append(m.watch[t], w)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			ws := slices.DeleteFunc(m.watch[t], func(x *watcher) bool { return x == w })
			if len(ws) == 0 {
				delete(m.watch, t)
			} else {
				m.watch[t] = ws
			}
		})
	}
	return w.ch, stop, nil
}

// notifyLocked sends t's status to its watchers, and at a terminal state
// closes their channels and forgets them. With no watchers it costs a map
// length check.
func (m *Manager) notifyLocked(t *task, now stamp) {
	if len(m.watch) == 0 {
		return
	}
	ws := m.watch[t]
	if len(ws) == 0 {
		return
	}
	st := m.statusLocked(t, now)
	final := t.state.Terminal()
	for _, w := range ws {
		w.send(st)
		if final {
			close(w.ch)
		}
	}
	if final {
		delete(m.watch, t)
	}
}

// send delivers st, dropping the oldest status held when the buffer is
// full. The caller is the only sender, so the second try cannot fail.
func (w *watcher) send(st Status) {
	for {
		select {
		case w.ch <- st:
			return
		default:
		}
		select {
		case <-w.ch:
		default:
		}
	}
}

// CancelAll cancels every live task, as Cancel does one, with an error of
// type cancelled whose message ends with reason ("server shutting down").
// Queued and retrying tasks end cancelled at once; running ones end
// cancelled when their runner returns (their attempt's context is
// cancelled with that cause). It returns the ids of the tasks still
// running, for the caller to wait on. The manager keeps accepting tasks:
// the caller stops submitting, and Close cancels anything submitted later.
func (m *Manager) CancelAll(reason string) (running []string) {
	now := m.now()
	var ended []Status
	m.mu.Lock()
	for _, t := range m.order {
		if t == nil || t.state.Terminal() {
			continue
		}
		cause := tools.Errorf(tools.TypeCancelled, "task %s: cancelled: %s", t.id, reason)
		if m.cancelLocked(t, cause, now) {
			if m.obs != nil {
				ended = append(ended, m.statusLocked(t, now))
			}
		} else if t.state == Running {
			running = append(running, t.id)
		}
	}
	m.pruneLocked(now)
	m.mu.Unlock()
	if m.obs != nil {
		for _, st := range ended {
			m.obs.TaskFinished(st)
		}
	}
	return running
}
