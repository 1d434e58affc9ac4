package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// Dashboard serves a live page while a run goes (--dashboard): GET / is the
// report page following the run; GET /events streams server-sent events:
//
//   - snapshot: every chart so far ({"charts": [...]}), on connect and
//     whenever the layout changes or the curves are downsampled;
//   - update: each second, the new last point of every chart
//     ({"x": seconds, "replace": bool, "columns": {"chart id": [values]}});
//     replace means the point extends the last one instead of adding one;
//   - done: the run's end ({"status", "passed", "cards", "tables"}, the last
//     two as HTML rendered by the report's templates).
//
// It receives a run's seconds as scenario.Config.Charts does. Listening on a loopback address, it
// answers only requests whose Host is a loopback name, so a web page that
// rebinds a name of its own to 127.0.0.1 cannot read it.
type Dashboard struct {
	srv      *http.Server
	ln       net.Listener
	loopback bool
	script   string
	start    time.Time
	served   chan struct{}

	mu      sync.Mutex
	curves  metrics.Curves
	charts  []Chart
	layout  string
	clients map[*sseClient]struct{}
	final   *sseEvent
	// finishing is set when Finish starts: later streams get what there
	// is and end, so the wait for the active ones can begin.
	finishing bool
	closed    bool
	active    sync.WaitGroup
}

type sseEvent struct {
	name string
	data []byte
}

type sseClient struct {
	ch chan sseEvent
}

// clientBuffer is how many events a client may lag behind before it is
// dropped (its browser reconnects and gets a snapshot).
const clientBuffer = 64

// ErrDashboardAddr is the cause of an address the dashboard cannot use.
var ErrDashboardAddr = errors.New("dashboard address")

// NewDashboard listens on addr (HOST:PORT; port 0 picks a free one) and
// starts serving. Close or Finish stops it.
func NewDashboard(addr, script string) (*Dashboard, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w %q: want HOST:PORT, as 127.0.0.1:5665", ErrDashboardAddr, addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || strings.Trim(port, "0123456789") != "" {
		return nil, fmt.Errorf("%w %q: port %q is not a number from 0 to 65535", ErrDashboardAddr, addr, port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrDashboardAddr, addr, err)
	}
	d := &Dashboard{ln: ln, loopback: IsLoopback(host), script: script, start: time.Now(),
		clients: map[*sseClient]struct{}{}, served: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.page)
	mux.HandleFunc("GET /events", d.events)
	d.srv = &http.Server{Handler: d.guard(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.served)
		d.srv.Serve(ln)
	}()
	return d, nil
}

// IsLoopback reports whether a listening host is a loopback address or
// the name localhost.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the page's address.
func (d *Dashboard) URL() string {
	return "http://" + d.ln.Addr().String() + "/"
}

func (d *Dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.loopback {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			if !IsLoopback(strings.Trim(host, "[]")) {
				http.Error(w, "spellhost dashboard: this address serves loopback names only", http.StatusMisdirectedRequest)
				return
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	m := &Model{Script: d.script, Start: d.start.Format("2006-01-02 15:04:05 MST"), Status: "running", Charts: d.charts}
	d.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, m, true)
}

func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		http.Error(w, "the run has ended", http.StatusGone)
		return
	}
	c := &sseClient{ch: make(chan sseEvent, clientBuffer)}
	first := []sseEvent{d.snapshot()}
	late := d.finishing
	if late {
		if d.final != nil {
			first = append(first, *d.final)
		}
	} else {
		d.clients[c] = struct{}{}
		d.active.Add(1)
		defer d.active.Done()
	}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.clients, c)
		d.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	write := func(ev sseEvent) bool {
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data); err != nil {
			return false
		}
		fl.Flush()
		return ev.name != "done"
	}
	for _, ev := range first {
		if !write(ev) {
			return
		}
	}
	if late {
		return
	}
	for {
		select {
		case ev, ok := <-c.ch:
			if !ok || !write(ev) {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// snapshot is the event with every chart so far. Call with d.mu held.
func (d *Dashboard) snapshot() sseEvent {
	charts := d.charts
	if charts == nil {
		charts = []Chart{}
	}
	b, _ := json.Marshal(PageData{Live: true, Charts: charts})
	return sseEvent{"snapshot", b}
}

// broadcast sends an event to every client; a client too far behind is
// dropped. Call with d.mu held.
func (d *Dashboard) broadcast(ev sseEvent) {
	for c := range d.clients {
		select {
		case c.ch <- ev:
		default:
			delete(d.clients, c)
			close(c.ch)
		}
	}
}

// Second takes one second of the run (as scenario.Config.Charts).
func (d *Dashboard) Second(s metrics.CurveSample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finishing || d.closed {
		return
	}
	before := d.curves.Len()
	d.curves.Add(s)
	after := d.curves.Len()
	d.charts = Charts(d.curves.Set(), nil)
	layout := chartLayout(d.charts)
	if layout != d.layout || after < before || before == 0 {
		d.layout = layout
		d.broadcast(d.snapshot())
		return
	}
	type update struct {
		X       float64                   `json:"x"`
		Replace bool                      `json:"replace"`
		Columns map[string]metrics.Values `json:"columns"`
	}
	up := update{Replace: after == before, Columns: map[string]metrics.Values{}}
	for _, c := range d.charts {
		last := len(c.X) - 1
		up.X = c.X[last]
		col := make(metrics.Values, len(c.Data))
		for i := range c.Data {
			col[i] = c.Data[i][last]
		}
		up.Columns[c.ID] = col
	}
	b, err := json.Marshal(up)
	if err == nil {
		d.broadcast(sseEvent{"update", b})
	}
}

// chartLayout names the charts and their series, so a change (a new
// scenario or error type) sends a snapshot.
func chartLayout(cs []Chart) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.ID)
		for _, s := range c.Series {
			b.WriteString("|" + s.Label)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Finish tells the clients the run has ended, with its tables, waits up
// to grace for them to receive it, and stops the server.
func (d *Dashboard) Finish(res *result.Run, grace time.Duration) {
	d.mu.Lock()
	d.finishing = true
	d.mu.Unlock()
	if res != nil {
		m := NewModel(res)
		cards, _ := fragment("cards", m)
		tables, _ := fragment("tables", m)
		status := res.Status
		if res.StopReason != "" && status != "failed" {
			status += ": " + res.StopReason
		}
		b, _ := json.Marshal(map[string]any{"status": status, "passed": m.Passed, "cards": cards, "tables": tables})
		d.mu.Lock()
		if !d.closed {
			d.final = &sseEvent{"done", b}
			d.broadcast(*d.final)
			d.clients = map[*sseClient]struct{}{}
		}
		d.mu.Unlock()
	}
	done := make(chan struct{})
	go func() { d.active.Wait(); close(done) }()
	t := time.NewTimer(grace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	d.Close()
	<-done
}

// Close stops the server at once and ends every stream.
func (d *Dashboard) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		<-d.served
		return
	}
	d.closed = true
	for c := range d.clients {
		close(c.ch)
	}
	d.clients = map[*sseClient]struct{}{}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.srv.Close()
	}
	<-d.served
}
