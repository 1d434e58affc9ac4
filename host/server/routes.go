package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"

	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/tools"
)

// query parses the query string strictly: each parameter at most once and
// only those allowed. It answers 400 itself and returns false otherwise.
func (ex *exchange) query(r *http.Request, allowed ...string) (url.Values, bool) {
	if r.URL.RawQuery == "" {
		return nil, true
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query: %v", err))
		return nil, false
	}
	for k, vs := range q {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		switch {
		case !known && len(allowed) == 0:
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query parameter %s: this route takes none", safe(k)))
			return nil, false
		case !known:
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query parameter %s: unknown; this route takes %s", safe(k), strings.Join(allowed, ", ")))
			return nil, false
		case len(vs) > 1:
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query parameter %s: given %d times", k, len(vs)))
			return nil, false
		}
	}
	return q, true
}

// bounded is the request's context bounded by RequestTimeout, for work
// whose length the client chooses.
func (s *Server) bounded(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(r.Context(), s.cfg.RequestTimeout,
		&kernel.TimeoutError{What: "server: request", Limit: s.cfg.RequestTimeout})
}

// request answers POST /v1/request: the body is any protocol request, the
// reply its reply, with the status of its error type when it failed.
func (s *Server) request(ex *exchange, r *http.Request) {
	if _, ok := ex.query(r); !ok {
		return
	}
	body, ok := ex.readBody(r)
	if !ok {
		return
	}
	ctx, cancel := s.bounded(r)
	out := s.k.DoJSON(ctx, body)
	cancel()
	status := http.StatusOK
	if typ, failed := errorTypeOf(out); failed {
		ex.errType = typ
		status = StatusOf(typ)
		if typ == task.TypeQueueFull {
			ex.w.Header().Set("Retry-After", "1")
		}
	}
	ex.reply(status, out)
}

// listTools answers GET /v1/tools: every tool, those of ?category=, or those
// matching ?q=.
func (s *Server) listTools(ex *exchange, r *http.Request) {
	q, ok := ex.query(r, "q", "category")
	if !ok {
		return
	}
	_, hasQ := q["q"]
	_, hasCat := q["category"]
	switch {
	case hasQ && hasCat:
		ex.fail(http.StatusBadRequest, tools.TypeValidation, "query: give q (search) or category (list), not both")
	case hasQ:
		ex.replyKernel(s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "search", Query: q.Get("q")}), http.StatusOK)
	case hasCat && q.Get("category") == "":
		ex.fail(http.StatusBadRequest, tools.TypeValidation, "query parameter category: empty")
	case hasCat:
		ex.replyKernel(s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "list", Category: q.Get("category")}), http.StatusOK)
	case s.faults.Active():
		// Rules may target the protocol decoder, which only /v1/request
		// goes through.
		ex.replyKernel(s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "list"}), http.StatusOK)
	default:
		// The JSON path serves the whole list from its encoded cache.
		req := append(strconv.AppendQuote(append(make([]byte, 0, 96), `{"id":`...), ex.id), `,"command":"list"}`...)
		ex.reply(http.StatusOK, s.k.DoJSON(r.Context(), req))
	}
}

// toolName reads the {name} of a tool route; it answers 400 itself for a
// name no tool could have.
func (ex *exchange) toolName(r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if len(name) > 128 || strings.ContainsAny(name, "/\x00") {
		ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("tool name %s: not a tool name", safe(name)))
		return "", false
	}
	return name, true
}

func (s *Server) toolInfo(ex *exchange, r *http.Request) {
	name, ok := ex.toolName(r)
	if !ok {
		return
	}
	if _, ok := ex.query(r); !ok {
		return
	}
	ex.replyKernel(s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "info", Name: name}), http.StatusOK)
}

// invoke answers POST /v1/tools/{name}/invoke: the body is the tool's
// parameters as a JSON object (empty for none), ?timeout= bounds the call
// (at most RequestTimeout).
func (s *Server) invoke(ex *exchange, r *http.Request) {
	name, ok := ex.toolName(r)
	if !ok {
		return
	}
	var timeout time.Duration
	if r.URL.RawQuery != "" {
		q, ok := ex.query(r, "timeout")
		if !ok {
			return
		}
		d, err := kernel.ParseDuration(q.Get("timeout"))
		if err != nil || d <= 0 {
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query parameter timeout %s: want a positive duration such as 250ms or 2s", safe(q.Get("timeout"))))
			return
		}
		timeout = d
	}
	if _, err := s.k.Registry().Get(name); err != nil {
		ex.failErr(err) // before reading a body for nothing
		return
	}
	body, ok := ex.readBody(r)
	if !ok {
		return
	}
	params, err := decodeParams(body)
	if err != nil {
		ex.failErr(err)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = s.bounded(r)
		defer cancel()
	}
	rep := s.k.Do(ctx, &kernel.Request{ID: ex.id, Command: "invoke", Name: name, Params: params, Timeout: kernel.Duration(timeout)})
	s.countTool(name, rep)
	ex.replyKernel(rep, http.StatusOK)
}

// decodeParams reads a tool's parameters: a JSON object, or nothing.
func decodeParams(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var params map[string]any
	if err := json.Unmarshal(body, &params); err != nil {
		return nil, bodyError(err, len(body))
	}
	return params, nil
}

// bodyError says what is wrong with a JSON body.
func bodyError(err error, n int) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrUnexpectedEOF):
		return tools.Invalid("request body: malformed JSON: unexpected end after %d bytes", n)
	case errors.As(err, &syn):
		return tools.Invalid("request body: malformed JSON at offset %d: %v", syn.ByteOffset, syn.Err)
	case errors.As(err, &sem) && sem.JSONPointer == "":
		return tools.Invalid("request body: want a JSON object of the tool's parameters, got %s", kindName(sem.JSONKind))
	}
	return tools.Invalid("request body: %v", err)
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "another kind of value"
}

// toolCounters are one tool's tool_calls series, resolved once.
type toolCounters struct {
	ok     prometheus.Counter
	mu     sync.Mutex
	errors map[tools.ErrorType]prometheus.Counter
}

// countTool counts an invoke of a registered tool by outcome.
func (s *Server) countTool(name string, rep *kernel.Reply) {
	v, ok := s.toolStats.Load(name)
	if !ok {
		if _, known := s.k.Registry().Lookup(name); !known {
			return // only registry names become labels
		}
		v, _ = s.toolStats.LoadOrStore(name, &toolCounters{ok: s.metrics.toolCalls.WithLabelValues(name, "ok"),
			errors: map[tools.ErrorType]prometheus.Counter{}})
	}
	tc := v.(*toolCounters)
	if rep.Error == nil {
		tc.ok.Inc()
		return
	}
	tc.mu.Lock()
	c, ok := tc.errors[rep.Error.Type]
	if !ok {
		c = s.metrics.toolCalls.WithLabelValues(name, string(rep.Error.Type))
		tc.errors[rep.Error.Type] = c
	}
	tc.mu.Unlock()
	c.Inc()
}
