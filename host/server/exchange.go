package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/tools"
)

// exchange is one request and its reply. It wraps the ResponseWriter to
// see the status and size, and carries what the middleware learned (the
// route, the client, the fault effect) to the handler and the access log.
// Exchanges are pooled: nothing may keep one after ServeHTTP returns.
type exchange struct {
	s       *Server
	w       http.ResponseWriter
	req     *http.Request
	id      string
	route   *route
	client  *client
	start   time.Time
	status  int
	bytes   int64
	wrote   bool
	left    bool   // no longer counted as in flight (an event stream)
	cut     string // drop, reset, partial or abort: the connection was cut
	errType tools.ErrorType
	eff     *fault.Effect
	body    *[]byte // the pooled body buffer, returned at the end
}

var _ http.ResponseWriter = (*exchange)(nil)
var _ http.Flusher = (*exchange)(nil)

func (ex *exchange) Header() http.Header { return ex.w.Header() }

func (ex *exchange) WriteHeader(code int) {
	if !ex.wrote {
		ex.wrote, ex.status = true, code
	}
	ex.w.WriteHeader(code)
}

func (ex *exchange) Write(b []byte) (int, error) {
	if !ex.wrote {
		ex.wrote, ex.status = true, http.StatusOK
	}
	n, err := ex.w.Write(b)
	ex.bytes += int64(n)
	return n, err
}

// Flush sends what is buffered.
func (ex *exchange) Flush() {
	if f, ok := ex.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (ex *exchange) Unwrap() http.ResponseWriter { return ex.w }

// Shared header values: net/http only reads them.
var (
	ctJSON = []string{"application/json"}
)

func (ex *exchange) begin(s *Server, w http.ResponseWriter, r *http.Request) {
	*ex = exchange{s: s, w: w, req: r, start: time.Now()}
	ex.id = s.requestID(r.Header["X-Request-Id"])
	w.Header()["X-Request-Id"] = []string{ex.id}
	s.metrics.inflight.Inc()
	s.active.Add(1)
}

// requestID is the client's X-Request-ID when it is one value of 1 to 64
// characters of A-Z a-z 0-9 . _ : -, else a new one: the server's random
// prefix and a counter.
func (s *Server) requestID(in []string) string {
	if len(in) == 1 && validID(in[0]) {
		return in[0]
	}
	var b [40]byte
	buf := append(b[:0], s.idPrefix...)
	return string(strconv.AppendUint(buf, s.idSeq.Add(1), 16))
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// leave stops counting the request as in flight, waking a drain that
// waits for the last one.
func (s *Server) leave(ex *exchange) {
	if ex.left {
		return
	}
	ex.left = true
	if s.active.Add(-1) == 0 && s.draining.Load() {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}

// finish records the request in the metrics and the access log, recovers
// a handler's panic (a bug: answered 500), and returns the exchange to the
// pool. An http.ErrAbortHandler panic, which cuts the connection on
// purpose, goes on to net/http.
func (s *Server) finish(ex *exchange, r *http.Request) {
	p := recover()
	if p != nil && p != http.ErrAbortHandler {
		s.log.Error("handler panicked", "id", ex.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if !ex.wrote && ex.cut == "" {
			ex.fail(http.StatusInternalServerError, tools.TypeInternal, "server: internal error (request "+ex.id+")")
		}
	}
	if p == http.ErrAbortHandler && ex.cut == "" {
		ex.cut = "abort"
	}
	dur := time.Since(ex.start)
	rt := ex.route
	if rt == nil {
		rt = s.routes[len(s.routes)-1] // unmatched
	}
	status := ex.status
	switch {
	case ex.cut != "":
		status = 0
	case r.Context().Err() != nil && (!ex.wrote || ex.errType == tools.TypeCancelled):
		status = 499 // the client left before the reply
	case !ex.wrote:
		status = http.StatusOK
	}
	rt.stats.count(status, ex.cut)
	rt.stats.latency.Observe(dur.Seconds())
	s.metrics.inflight.Dec()
	s.leave(ex)
	if s.cfg.AccessLog {
		s.accessLog(ex, r, rt, status, dur)
	}
	if ex.body != nil {
		if cap(*ex.body) <= 1<<20 {
			*ex.body = (*ex.body)[:0]
			bodyPool.Put(ex.body)
		}
	}
	*ex = exchange{}
	s.pool.Put(ex)
	if p == http.ErrAbortHandler {
		panic(p)
	}
}

func (s *Server) accessLog(ex *exchange, r *http.Request, rt *route, status int, dur time.Duration) {
	path := r.URL.Path
	if len(path) > 256 {
		path = path[:256] + "..."
	}
	method := r.Method
	if len(method) > 16 {
		method = method[:16] + "..."
	}
	attrs := [12]slog.Attr{
		slog.String("id", ex.id),
		slog.String("method", method),
		slog.String("route", rt.name),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", ex.bytes),
		slog.Float64("ms", float64(dur.Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	}
	n := 8
	if ex.client != nil {
		attrs[n] = slog.String("client", ex.client.name)
		n++
	}
	if ex.errType != "" {
		attrs[n] = slog.String("error", string(ex.errType))
		n++
	}
	if ex.cut != "" {
		attrs[n] = slog.String("cut", ex.cut)
		n++
	}
	if ex.eff != nil {
		attrs[n] = slog.String("fault", ex.eff.Rule)
		n++
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
}

// reply writes a JSON body with status, through the fault effect when one
// alters replies.
func (ex *exchange) reply(status int, body []byte) {
	h := ex.w.Header()
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = ctJSON
	}
	if ex.eff != nil && (ex.eff.Corrupt || ex.eff.SlowRate > 0 || ex.eff.Partial >= 0) {
		ex.s.replyFaulty(ex, status, body)
		return
	}
	if len(body) >= 2048 { // below that, net/http sets it when the handler returns
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	ex.WriteHeader(status)
	ex.Write(body)
}

// fail answers an error envelope of type typ with status.
func (ex *exchange) fail(status int, typ tools.ErrorType, msg string) {
	ex.errType = typ
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && ex.w.Header().Get("Retry-After") == "" {
		ex.w.Header().Set("Retry-After", "1")
	}
	ex.reply(status, kernel.EncodeReply(&kernel.Reply{ID: ex.id, Status: kernel.StatusError,
		Error: &kernel.ErrorInfo{Type: typ, Message: msg}}))
}

// failErr answers err, classified by its type.
func (ex *exchange) failErr(err error) {
	typ := tools.TypeOf(err)
	ex.fail(StatusOf(typ), typ, err.Error())
}

var encodeOpts = json.JoinOptions(json.Deterministic(true), jsontext.AllowInvalidUTF8(true))

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// replyKernel answers a kernel reply: okStatus when it succeeded, else the
// status of its error type.
func (ex *exchange) replyKernel(rep *kernel.Reply, okStatus int) {
	status := okStatus
	if rep.Error != nil {
		ex.errType = rep.Error.Type
		status = StatusOf(rep.Error.Type)
		if rep.Error.Type == task.TypeQueueFull {
			ex.w.Header().Set("Retry-After", "1")
		}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if err := json.MarshalWrite(buf, rep, encodeOpts); err != nil {
		ex.reply(http.StatusInternalServerError, kernel.EncodeReply(rep)) // the kernel's fallback: an internal error reply
	} else {
		ex.reply(status, buf.Bytes())
	}
	if buf.Cap() <= 1<<20 {
		bufPool.Put(buf)
	}
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readBody reads the request body into a pooled buffer, at most
// MaxBodyBytes. It answers the request itself and returns false on a
// wrong content type (415), a body over the limit (413), a body that
// arrives too slowly (408) or a broken one (400).
func (ex *exchange) readBody(r *http.Request) ([]byte, bool) {
	if ct := r.Header["Content-Type"]; len(ct) > 0 && ct[0] != "application/json" {
		mt, _, err := mime.ParseMediaType(ct[0])
		if err != nil || mt != "application/json" || len(ct) > 1 {
			ex.fail(http.StatusUnsupportedMediaType, tools.TypeValidation,
				fmt.Sprintf("request body: content type %s: want application/json (curl: -H 'Content-Type: application/json')", safe(ct[0])))
			return nil, false
		}
	}
	limit := ex.s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		ex.w.Header().Set("Connection", "close")
		ex.fail(http.StatusRequestEntityTooLarge, tools.TypeTooLarge,
			fmt.Sprintf("request body: %d bytes exceeds the %d-byte limit", r.ContentLength, limit))
		return nil, false
	}
	bp := bodyPool.Get().(*[]byte)
	ex.body = bp
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		end := min(int64(cap(b)), limit+1)
		n, err := r.Body.Read(b[len(b):end])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			*bp = b
			ex.w.Header().Set("Connection", "close")
			ex.fail(http.StatusRequestEntityTooLarge, tools.TypeTooLarge,
				fmt.Sprintf("request body: more than the %d-byte limit", limit))
			return nil, false
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ex.w.Header().Set("Connection", "close")
				ex.fail(http.StatusRequestTimeout, tools.TypeTimeout,
					fmt.Sprintf("request body: not received within the read timeout (%v); %d bytes arrived", ex.s.cfg.ReadTimeout, len(b)))
				return nil, false
			}
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("request body: %v after %d bytes", err, len(b)))
			return nil, false
		}
	}
	*bp = b
	ex.extend()
	return b, true
}

// extend lifts the connection's read deadline once the request is read:
// net/http would otherwise cancel the request's context when the read
// timeout passes while the handler still works.
func (ex *exchange) extend() {
	if d, ok := ex.w.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Time{})
	}
}
