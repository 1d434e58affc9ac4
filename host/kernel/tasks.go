package kernel

import (
	"context"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

// Tasks returns the kernel's task backend, starting it on first use (a
// kernel that never sees a task starts no workers): the in-process
// manager, or what Options.TaskBackend starts. It fails after Close.
func (k *Kernel) Tasks() (task.Queue, error) {
	k.taskMu.Lock()
	defer k.taskMu.Unlock()
	if k.closed.Load() {
		return nil, ErrClosed
	}
	if k.tasks != nil {
		return k.tasks, nil
	}
	cfg := k.opts.Tasks
	faults := k.opts.Faults
	prev := cfg.BeforeAttempt
	cfg.BeforeAttempt = func(ctx context.Context, s *task.Spec, attempt int) error {
		if prev != nil {
			if err := prev(ctx, s, attempt); err != nil {
				return err
			}
		}
		if eff := faults.Eval("task:" + s.Name); eff != nil {
			return eff.Before(ctx)
		}
		return nil
	}
	var q task.Queue
	var err error
	if k.opts.TaskBackend != nil {
		q, err = k.opts.TaskBackend(k, cfg)
	} else {
		q, err = task.New(cfg)
	}
	if err != nil {
		if tools.TypeOf(err) == tools.TypeValidation {
			return nil, tools.WithOp("tasks", err)
		}
		return nil, err
	}
	k.tasks = q
	return q, nil
}

// StopTasks ends the kernel's tasks at the end of a run: the queued and
// retrying ones are cancelled at once, the running ones see their context
// cancelled and end cancelled, and StopTasks returns once the task
// workers have stopped, every task in a terminal state. Later submits
// fail with ErrClosed; TaskStats still reports the final counts.
func (k *Kernel) StopTasks() { k.closeTasks() }

// closeTasks stops the task manager, if it started.
func (k *Kernel) closeTasks() {
	k.taskMu.Lock()
	m := k.tasks
	k.taskMu.Unlock()
	if m != nil {
		m.Close()
	}
}

// ToolTask returns the spec of a task that invokes a tool. The task is
// named after the tool, so the fault target task:NAME reaches it. Its
// Work (kind "tool") lets a worker in another process run it instead.
func (k *Kernel) ToolTask(name string, params map[string]any) task.Spec {
	return task.Spec{Name: name, Run: func(ctx context.Context, a *task.Attempt) (any, error) {
		// The attempt's context carries the task's timeout; the tool's own
		// default timeout still bounds a task without one.
		if k.opts.OnTaskTool == nil {
			return k.Invoke(ctx, name, params, 0)
		}
		start := time.Now()
		res, err := k.Invoke(ctx, name, params, 0)
		k.opts.OnTaskTool(name, a.Tags(), tools.TypeOf(err), time.Since(start))
		return res, err
	}, Work: &task.Work{Kind: WorkTool, Body: ToolWork{Tool: name, Params: params}}}
}

func (k *Kernel) submitTask(r *Request) (any, error) {
	if r.Name == "" {
		return nil, tools.Invalid("task_submit: missing field \"name\" (the tool to run)")
	}
	if _, err := k.reg.Get(r.Name); err != nil {
		return nil, err
	}
	m, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	spec := k.ToolTask(r.Name, r.Params)
	spec.Timeout = time.Duration(r.Timeout)
	spec.Retries = r.Retries
	spec.Backoff = time.Duration(r.Backoff)
	spec.Priority = r.Priority
	spec.Tags = r.Tags
	spec.Budget = r.Budget
	spec.Cost = r.Cost
	id, err := m.Submit(spec)
	if err != nil {
		return nil, err
	}
	return map[string]any{"task_id": id}, nil
}

func (k *Kernel) taskStatus(r *Request) (any, error) {
	if r.TaskID == "" {
		return nil, tools.Invalid("%s: missing field \"task_id\"", r.Command)
	}
	m, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	var st task.Status
	if r.Command == "task_cancel" {
		st, err = m.Cancel(r.TaskID)
	} else {
		st, err = m.Status(r.TaskID)
	}
	if err != nil {
		return nil, err
	}
	return StatusMap(st), nil
}

func (k *Kernel) taskWait(ctx context.Context, r *Request) (any, error) {
	if r.TaskID == "" {
		return nil, tools.Invalid("task_wait: missing field \"task_id\"")
	}
	m, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(r.Timeout)
	if timeout <= 0 {
		timeout = k.opts.DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, &TimeoutError{What: "task_wait " + r.TaskID, Limit: timeout})
	defer cancel()
	st, err := m.Wait(ctx, r.TaskID)
	if err != nil {
		return nil, err
	}
	return StatusMap(st), nil
}

func (k *Kernel) taskList(r *Request) (any, error) {
	m, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	p, err := m.List(task.Filter{State: r.State, Tag: r.Tag, Offset: r.Offset, Limit: r.Limit})
	if err != nil {
		return nil, err
	}
	return PageMap(p), nil
}

func (k *Kernel) taskStats() (any, error) {
	m, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	return QueueStatsMap(m), nil
}

// QueueStatsMap is StatsMap of q's counters, with "nodes" listing q's
// worker processes when q knows them (a distributed backend).
func QueueStatsMap(q task.Queue) map[string]any {
	out := StatsMap(q.Stats())
	if wl, ok := q.(task.WorkerLister); ok {
		ws := wl.Workers()
		nodes := make([]any, len(ws))
		for i, w := range ws {
			nodes[i] = map[string]any{"id": w.ID, "host": w.Host, "slots": w.Slots, "running": w.Running,
				"done": w.Done, "started": w.Started.UTC().Format(time.RFC3339Nano),
				"last_seen": w.LastSeen.UTC().Format(time.RFC3339Nano)}
		}
		out["nodes"] = nodes
	}
	return out
}

// StatusMap is a task status as the protocol and Lua show it: durations
// in seconds, times in RFC 3339, empty fields left out.
func StatusMap(st task.Status) map[string]any {
	m := map[string]any{
		"id": st.ID, "name": st.Name, "state": string(st.State), "priority": st.Priority,
		"attempts": st.Attempts, "max_attempts": st.MaxAttempts,
		"submitted":    st.Submitted.UTC().Format(time.RFC3339Nano),
		"queue_wait_s": st.QueueWait.Seconds(), "run_time_s": st.RunTime.Seconds(),
	}
	if len(st.Tags) > 0 {
		tags := make(map[string]any, len(st.Tags))
		for k, v := range st.Tags {
			tags[k] = v
		}
		m["tags"] = tags
	}
	for k, t := range map[string]time.Time{"started": st.Started, "finished": st.Finished, "next_attempt": st.NextAttempt} {
		if !t.IsZero() {
			m[k] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	if st.Budget > 0 || st.Spent > 0 {
		m["budget"], m["spent"] = st.Budget, st.Spent
	}
	if st.CancelRequested {
		m["cancel_requested"] = true
	}
	if st.Worker != "" {
		m["worker"] = st.Worker
	}
	if st.Result != nil {
		m["result"] = st.Result
	}
	if st.Error != nil {
		m["error"] = map[string]any{"type": string(st.Error.Type), "message": st.Error.Message}
	}
	return m
}

// StatsMap is the task manager's counters as the protocol shows them.
func StatsMap(s task.Stats) map[string]any {
	return map[string]any{
		"workers": s.Workers, "queue_cap": s.QueueCap, "queued": s.Queued, "running": s.Running,
		"retrying": s.Retrying, "succeeded": s.Succeeded, "failed": s.Failed, "timed_out": s.TimedOut,
		"cancelled": s.Cancelled, "submitted": s.Submitted, "rejected": s.Rejected, "retries": s.Retries,
		"rate_limit_waits": s.RateLimitWaits, "rate_limit_wait_s": s.RateLimitWait.Seconds(),
		"retained": s.Retained, "dropped": s.Dropped, "balanced": s.Balanced(),
	}
}

// PageMap is one page of task_list.
func PageMap(p task.Page) map[string]any {
	ts := make([]any, len(p.Tasks))
	for i, st := range p.Tasks {
		ts[i] = StatusMap(st)
	}
	return map[string]any{"tasks": ts, "total": p.Total, "offset": p.Offset, "next": p.Next}
}

// ConfigureTaskBackend sets the backend that starts on the first task in
// place of the in-process manager (nil: the in-process manager). It fails
// once the tasks started.
func (k *Kernel) ConfigureTaskBackend(b TaskBackend) error {
	k.taskMu.Lock()
	defer k.taskMu.Unlock()
	if k.tasks != nil {
		return tools.Invalid("tasks: the task manager started before its backend was chosen (a task was submitted at the top level of the script)")
	}
	k.opts.TaskBackend = b
	return nil
}

// ConfigureTasks replaces the task manager's settings. It fails once the
// manager started (a task was submitted).
func (k *Kernel) ConfigureTasks(cfg task.Config) error {
	k.taskMu.Lock()
	defer k.taskMu.Unlock()
	if k.tasks != nil {
		return tools.Invalid("tasks: the task manager started before its options took effect (a task was submitted at the top level of the script)")
	}
	k.opts.Tasks = cfg
	return nil
}

// TaskWorkers lists the task backend's worker processes, and false when
// the tasks have not started or the backend runs no worker processes (the
// in-process manager).
func (k *Kernel) TaskWorkers() ([]task.WorkerInfo, bool) {
	k.taskMu.Lock()
	q := k.tasks
	k.taskMu.Unlock()
	wl, ok := q.(task.WorkerLister)
	if !ok {
		return nil, false
	}
	return wl.Workers(), true
}

// TaskStats returns the task manager's counters, and false when it never
// started.
func (k *Kernel) TaskStats() (task.Stats, bool) {
	k.taskMu.Lock()
	m := k.tasks
	k.taskMu.Unlock()
	if m == nil {
		return task.Stats{}, false
	}
	return m.Stats(), true
}
