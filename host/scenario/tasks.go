package scenario

import (
	"context"
	"fmt"
	"time"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
	"spellhost/host/result"
	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/tools"
)

// taskObserver records the task manager's events as the task_* metrics.
type taskObserver struct {
	st                                     *metrics.Store
	depth, running, wait, run, retries, rl *metrics.Series
	outcomes                               map[task.State]*metrics.Series
}

func newTaskObserver(st *metrics.Store) *taskObserver {
	def := func(name string) *metrics.Def { d, _ := st.Def(name); return d }
	o := &taskObserver{st: st,
		depth: st.Series(def(metrics.TaskQueueDepth), ""), running: st.Series(def(metrics.TaskRunning), ""),
		wait: st.Series(def(metrics.TaskQueueWait), ""), run: st.Series(def(metrics.TaskRunDuration), ""),
		retries: st.Series(def(metrics.TaskRetries), ""), rl: st.Series(def(metrics.TaskRateLimitWaits), ""),
		outcomes: map[task.State]*metrics.Series{},
	}
	for _, s := range []task.State{task.Succeeded, task.Failed, task.TimedOut, task.Cancelled} {
		o.outcomes[s] = st.Series(def(metrics.TaskOutcomes), metrics.Tags(map[string]string{"state": string(s)}))
	}
	return o
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (o *taskObserver) TaskQueued(depth int) { o.st.Add(o.depth, float64(depth)) }
func (o *taskObserver) TaskStarted(queueWait time.Duration, running int) {
	o.st.Add(o.wait, ms(queueWait))
	o.st.Add(o.running, float64(running))
}
func (o *taskObserver) TaskFinished(st task.Status) {
	if s, ok := o.outcomes[st.State]; ok {
		o.st.Add(s, 1)
	}
	if st.RunTime > 0 {
		o.st.Add(o.run, ms(st.RunTime))
	}
}
func (o *taskObserver) TaskRetried()                  { o.st.Add(o.retries, 1) }
func (o *taskObserver) RateLimitWait(d time.Duration) { o.st.Add(o.rl, 1) }

// taskConfig turns options.tasks into the manager's settings.
func (r *runState) taskConfig(to TaskOptions) task.Config {
	return task.Config{
		Workers: to.Workers, QueueCap: to.Queue, RatePerMinute: float64(to.Rate), Burst: to.Burst,
		DefaultTimeout: to.Timeout, DefaultBudget: float64(to.Budget), MaxFinished: to.Keep, MaxAge: to.KeepFor,
		Seed: r.cfg.Seed, Observer: newTaskObserver(r.store),
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
	n := func(v int64) string { return fmt.Sprintf("%d", v) }
	sec := result.Section{Title: "tasks", Rows: [][]string{
		{"submitted", n(s.Submitted), fmt.Sprintf("(%d refused: queue full)", s.Rejected)},
		{"succeeded", n(s.Succeeded)},
		{"failed", n(s.Failed)},
		{"timed out", n(s.TimedOut)},
		{"cancelled", n(s.Cancelled)},
		{"still live", fmt.Sprintf("%d queued, %d running, %d retrying", s.Queued, s.Running, s.Retrying)},
		{"retries", n(s.Retries)},
		{"rate-limit waits", n(s.RateLimitWaits), fmt.Sprintf("(%.3fs in all)", s.RateLimitWait.Seconds())},
		{"retention", fmt.Sprintf("%d kept, %d dropped", s.Retained, s.Dropped)},
		{"accounting", map[bool]string{true: "balanced: every task in exactly one state", false: "UNBALANCED"}[s.Balanced()]},
	}}
	if ws, ok := k.TaskWorkers(); ok {
		for _, w := range ws {
			sec.Rows = append(sec.Rows, []string{"worker " + w.ID, fmt.Sprintf("%d done by its last heartbeat", w.Done),
				fmt.Sprintf("(%d slots, %d running)", w.Slots, w.Running)})
		}
	}
	return sec, true
}
