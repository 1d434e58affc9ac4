package task

// Reading tasks: one task's status, waiting for tasks, listing them, and
// the manager's counters.

import (
	"context"
	"fmt"
	"strings"

	"spellhost/tools"
)

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

func (m *Manager) statusLocked(t *task, now stamp) Status {
	st := Status{
		ID: t.id, Name: t.spec.Name, State: t.state, Priority: t.spec.Priority,
		Attempts: t.attempts, MaxAttempts: 1 + t.spec.Retries,
		Submitted: m.time(t.submitted), Started: m.time(t.started), Finished: m.time(t.finished),
		NextAttempt: m.time(t.next), QueueWait: t.queueWait, RunTime: t.runTime,
		Spent: t.spent, Budget: t.spec.Budget, CancelRequested: t.cancelReq && t.state == Running,
		Result: t.result, Error: t.err,
	}
	st.Tags = t.tagMap()
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

// tagMap returns the task's tags as a new map, nil when it has none.
func (t *task) tagMap() map[string]string {
	if len(t.tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(t.tags))
	for _, tg := range t.tags {
		m[tg.k] = tg.v
	}
	return m
}

func (t *task) hasTag(k, v string) bool {
	for _, tg := range t.tags {
		if tg.k == k {
			return tg.v == v
		}
	}
	return false
}
