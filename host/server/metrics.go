package server

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/internal/procmem"
)

// metrics are the server's Prometheus metrics, in a registry of their own
// (never the global one), so two servers in a process do not collide.
// Every label has a bounded set of values: routes by pattern, status
// codes, tool names from the registry, error types, reasons.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // route, code
	duration  *prometheus.HistogramVec // route
	inflight  prometheus.Gauge
	toolCalls *prometheus.CounterVec // tool, outcome
	denied    *prometheus.CounterVec // reason
	limited   *prometheus.CounterVec // reason
	faults    *prometheus.CounterVec // kind
	draining  prometheus.Gauge
}

func newMetrics(k *kernel.Kernel) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spellhost_http_requests_total",
		Help: "HTTP requests answered, by route pattern and status code (drop, reset and partial for connections cut by a fault, 499 when the client left first).",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "spellhost_http_request_duration_seconds",
		Help:    "Time from a request's headers to the end of its reply, by route pattern.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 14), // 50µs to about 7.5 min
	}, []string{"route"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "spellhost_http_requests_in_flight",
		Help: "HTTP requests being handled, event streams included.",
	})
	m.toolCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spellhost_tool_calls_total",
		Help: "Tool calls through POST /v1/tools/{name}/invoke, by tool and outcome (ok or the error type).",
	}, []string{"tool", "outcome"})
	m.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spellhost_http_auth_failures_total",
		Help: "Requests refused for their API key: missing or malformed (401), unknown (403).",
	}, []string{"reason"})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spellhost_http_rate_limited_total",
		Help: "Requests refused with 429: over the key's rate, or over its concurrent requests.",
	}, []string{"reason"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spellhost_http_faults_injected_total",
		Help: "net:server fault effects applied to requests, by kind.",
	}, []string{"kind"})
	m.draining = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "spellhost_http_draining",
		Help: "1 while the server drains after SIGTERM or SIGINT.",
	})
	m.reg.MustRegister(m.requests, m.duration, m.inflight, m.toolCalls, m.denied, m.limited, m.faults, m.draining,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "spellhost_heap_live_bytes",
			Help: "Bytes of live heap objects (runtime/metrics), the figure the memory sampler reads.",
		}, func() float64 { return float64(procmem.HeapObjects()) }),
		&kernelCollector{k: k},
	)
	return m
}

// kernelCollector reads the kernel's and the task manager's counters at
// scrape time, so requests pay nothing for them.
type kernelCollector struct{ k *kernel.Kernel }

var (
	descKernelCalls   = prometheus.NewDesc("spellhost_kernel_tool_calls_total", "Tool calls the kernel finished, by every route and by tasks.", nil, nil)
	descKernelRunning = prometheus.NewDesc("spellhost_kernel_tool_calls_running", "Tool calls in progress.", nil, nil)
	descKernelAband   = prometheus.NewDesc("spellhost_kernel_tool_calls_abandoned", "Tool calls that timed out and whose tool has not returned yet.", nil, nil)
	descKernelPanics  = prometheus.NewDesc("spellhost_kernel_panics_total", "Tools that panicked (the kernel recovered).", nil, nil)
	descTasks         = prometheus.NewDesc("spellhost_tasks", "Live tasks by state.", []string{"state"}, nil)
	descTasksDone     = prometheus.NewDesc("spellhost_tasks_finished_total", "Tasks that reached a terminal state, by state.", []string{"state"}, nil)
	descQueueDepth    = prometheus.NewDesc("spellhost_task_queue_depth", "Tasks queued or waiting to retry.", nil, nil)
	descQueueCap      = prometheus.NewDesc("spellhost_task_queue_capacity", "The task queue's capacity; a submission beyond it answers queue_full.", nil, nil)
	descSubmitted     = prometheus.NewDesc("spellhost_tasks_submitted_total", "Tasks accepted.", nil, nil)
	descRejected      = prometheus.NewDesc("spellhost_tasks_rejected_total", "Task submissions refused with queue_full.", nil, nil)
	descRetries       = prometheus.NewDesc("spellhost_task_retries_total", "Task attempts scheduled after a failed one.", nil, nil)
	descWorkerSlots   = prometheus.NewDesc("spellhost_task_worker_slots", "Attempts a task worker process runs at once, by worker (host/pid/random); a durable backend only.", []string{"worker", "host"}, nil)
	descWorkerRunning = prometheus.NewDesc("spellhost_task_worker_running", "Attempts a task worker process is running now.", []string{"worker", "host"}, nil)
	descWorkerDone    = prometheus.NewDesc("spellhost_task_worker_attempts_total", "Attempts a task worker process finished since it started.", []string{"worker", "host"}, nil)
)

func (c *kernelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descKernelCalls, descKernelRunning, descKernelAband, descKernelPanics,
		descTasks, descTasksDone, descQueueDepth, descQueueCap, descSubmitted, descRejected, descRetries,
		descWorkerSlots, descWorkerRunning, descWorkerDone} {
		ch <- d
	}
}

func (c *kernelCollector) Collect(ch chan<- prometheus.Metric) {
	ks := c.k.Stats()
	ch <- prometheus.MustNewConstMetric(descKernelCalls, prometheus.CounterValue, float64(ks.Calls))
	ch <- prometheus.MustNewConstMetric(descKernelRunning, prometheus.GaugeValue, float64(ks.Running))
	ch <- prometheus.MustNewConstMetric(descKernelAband, prometheus.GaugeValue, float64(ks.Abandoned))
	ch <- prometheus.MustNewConstMetric(descKernelPanics, prometheus.CounterValue, float64(ks.Panics))
	ts, _ := c.k.TaskStats() // zeros before the first task
	for _, s := range []struct {
		state task.State
		n     int
	}{{task.Queued, ts.Queued}, {task.Running, ts.Running}, {task.Retrying, ts.Retrying}} {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(s.n), string(s.state))
	}
	for _, s := range []struct {
		state task.State
		n     int64
	}{{task.Succeeded, ts.Succeeded}, {task.Failed, ts.Failed}, {task.TimedOut, ts.TimedOut}, {task.Cancelled, ts.Cancelled}} {
		ch <- prometheus.MustNewConstMetric(descTasksDone, prometheus.CounterValue, float64(s.n), string(s.state))
	}
	ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(ts.Queued+ts.Retrying))
	ch <- prometheus.MustNewConstMetric(descQueueCap, prometheus.GaugeValue, float64(ts.QueueCap))
	ch <- prometheus.MustNewConstMetric(descSubmitted, prometheus.CounterValue, float64(ts.Submitted))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(ts.Rejected))
	ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(ts.Retries))
	// The workers whose heartbeat is current: a bounded set, each gone
	// from the scrape a few seconds after its process stops.
	ws, _ := c.k.TaskWorkers()
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.ID] {
			continue
		}
		seen[w.ID] = true
		ch <- prometheus.MustNewConstMetric(descWorkerSlots, prometheus.GaugeValue, float64(w.Slots), w.ID, w.Host)
		ch <- prometheus.MustNewConstMetric(descWorkerRunning, prometheus.GaugeValue, float64(w.Running), w.ID, w.Host)
		ch <- prometheus.MustNewConstMetric(descWorkerDone, prometheus.CounterValue, float64(w.Done), w.ID, w.Host)
	}
}

// routeStats holds one route's series, resolved once, so a request costs
// an array index and an atomic add rather than a label lookup.
type routeStats struct {
	m        *metrics
	name     string
	latency  prometheus.Observer
	codes    [600]atomic.Pointer[prometheus.Counter]
	cutMu    sync.Mutex
	cutCodes map[string]prometheus.Counter
}

func (m *metrics) route(name string) *routeStats {
	return &routeStats{m: m, name: name, latency: m.duration.WithLabelValues(name)}
}

// count records one request answered with code (100 to 599), or cut as
// what says (drop, reset, partial) when code is 0.
func (rs *routeStats) count(code int, cut string) {
	if cut != "" {
		rs.cutMu.Lock()
		c, ok := rs.cutCodes[cut]
		if !ok {
			if rs.cutCodes == nil {
				rs.cutCodes = map[string]prometheus.Counter{}
			}
			c = rs.m.requests.WithLabelValues(rs.name, cut)
			rs.cutCodes[cut] = c
		}
		rs.cutMu.Unlock()
		c.Inc()
		return
	}
	if code < 100 || code >= len(rs.codes) {
		code = 500
	}
	p := rs.codes[code].Load()
	if p == nil {
		c := rs.m.requests.WithLabelValues(rs.name, strconv.Itoa(code))
		p = &c
		rs.codes[code].Store(p)
	}
	(*p).Inc()
}
