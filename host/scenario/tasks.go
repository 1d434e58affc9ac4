package scenario

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/dustin/go-humanize"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
	"spellhost/host/result"
	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/tools"
)

// taskObserver records the task manager's events as the task_* metrics:
// the per-task ones (queue wait, run time, outcomes, retries) tagged with
// the task's tags, the manager-wide gauges with the run's only.
type taskObserver struct{ h *hostRecorder }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (o *taskObserver) TaskQueued(depth int) { o.h.add(metrics.TaskQueueDepth, float64(depth), nil) }
func (o *taskObserver) TaskStarted(tags map[string]string, queueWait time.Duration, running int) {
	o.h.add(metrics.TaskQueueWait, ms(queueWait), tags)
	o.h.add(metrics.TaskRunning, float64(running), nil)
}
func (o *taskObserver) TaskFinished(st task.Status) {
	switch st.State {
	case task.Succeeded, task.Failed, task.TimedOut, task.Cancelled:
		tags := maps.Clone(st.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags["state"] = string(st.State)
		o.h.add(metrics.TaskOutcomes, 1, tags)
	}
	if st.RunTime > 0 {
		o.h.add(metrics.TaskRunDuration, ms(st.RunTime), st.Tags)
	}
}
func (o *taskObserver) TaskRetried(tags map[string]string) { o.h.add(metrics.TaskRetries, 1, tags) }
func (o *taskObserver) RateLimitWait(time.Duration)        { o.h.add(metrics.TaskRateLimitWaits, 1, nil) }

// taskToolCall records a tool call made by a tool task (the kernel's
// OnTaskTool): tool_calls and tool_duration, tagged with the task's tags,
// the tool and the outcome.
func (r *runState) taskToolCall(tool string, tags map[string]string, errType tools.ErrorType, d time.Duration) {
	m := maps.Clone(tags)
	if m == nil {
		m = map[string]string{}
	}
	m["tool"], m["outcome"] = tool, string(errType)
	if errType == "" {
		m["outcome"] = "ok"
	}
	r.host.add(metrics.ToolCalls, 1, m)
	r.host.add(metrics.ToolDuration, ms(d), m)
}

// taskConfig turns options.tasks into the manager's settings.
func (r *runState) taskConfig(to TaskOptions) task.Config {
	return task.Config{
		Workers: to.Workers, QueueCap: to.Queue, RatePerMinute: float64(to.Rate), Burst: to.Burst,
		DefaultTimeout: to.Timeout, DefaultBudget: float64(to.Budget), MaxFinished: to.Keep, MaxAge: to.KeepFor,
		Seed: r.cfg.Seed, Observer: &taskObserver{r.host},
	}
}

// taskBackend chooses the kernel's task backend from options.tasks: the
// durable one for backend = "jetstream" or a nats URL. A run's tasks end
// with the run (CancelOnClose), whichever backend keeps them.
func (r *runState) taskBackend(to TaskOptions) error {
	if to.Backend != "jetstream" && to.NATS == "" {
		return nil
	}
	conn := r.cfg.TaskStore
	if to.NATS != "" {
		// The script chose the address: it is reached as tools reach the
		// network, under --allow-net (loopback only by default).
		conn.URL = to.NATS
		p := r.cfg.Perm
		if p == nil {
			return tools.Invalid("nats: a script's NATS address needs the run's network permissions, and this run has none")
		}
		conn.Dialer = p.DialContext
	}
	ns, remote := to.Namespace, to.Remote
	return r.k.ConfigureTaskBackend(func(k *kernel.Kernel, cfg task.Config) (task.Queue, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return durable.Start(ctx, conn, durable.Config{Config: cfg, Namespace: ns, CancelOnClose: true, NoLocalWorkers: remote,
			Executors: map[string]task.Executor{kernel.WorkTool: k.ToolExecutor()}})
	})
}

// taskSection is the summary's tasks block, when the run used tasks.
func taskSection(k *kernel.Kernel) (result.Section, bool) {
	s, ok := k.TaskStats()
	if !ok {
		return result.Section{}, false
	}
	n := humanize.Comma
	sec := result.Section{Title: "tasks", Rows: [][]string{
		{"submitted", n(s.Submitted), fmt.Sprintf("(%s refused: queue full)", n(s.Rejected))},
		{"succeeded", n(s.Succeeded)},
		{"failed", n(s.Failed)},
		{"timed out", n(s.TimedOut)},
		{"cancelled", n(s.Cancelled)},
		{"still live", fmt.Sprintf("%s queued, %s running, %s retrying", n(int64(s.Queued)), n(int64(s.Running)), n(int64(s.Retrying)))},
		{"retries", n(s.Retries)},
		{"rate-limit waits", n(s.RateLimitWaits), fmt.Sprintf("(%.3fs in all)", s.RateLimitWait.Seconds())},
		{"retention", fmt.Sprintf("%s kept, %s dropped", n(int64(s.Retained)), n(int64(s.Dropped)))},
		{"accounting", map[bool]string{true: "balanced: every task in exactly one state", false: "UNBALANCED"}[s.Balanced()]},
	}}
	if ws, ok := k.TaskWorkers(); ok {
		for _, w := range ws {
			sec.Rows = append(sec.Rows, []string{"worker " + w.ID, fmt.Sprintf("%s done by its last heartbeat", humanize.Comma(int64(w.Done))),
				fmt.Sprintf("(%d slots, %d running)", w.Slots, w.Running)})
		}
	}
	return sec, true
}
