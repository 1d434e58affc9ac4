package scenario

import (
	"fmt"
	"maps"
	"time"

	"github.com/dustin/go-humanize"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
	"spellhost/host/result"
	"spellhost/host/task"
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

// taskSection is the summary's tasks block, when the run used tasks.
func taskSection(k *kernel.Kernel) (result.Section, bool) {
	s, ok := k.TaskStats()
	if !ok {
		return result.Section{}, false
	}
	n := humanize.Comma
	return result.Section{Title: "tasks", Rows: [][]string{
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
	}}, true
}
