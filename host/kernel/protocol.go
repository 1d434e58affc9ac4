package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/fault"
	"spellhost/tools"
)

// Request is a protocol request. As JSON it is an object such as
//
//	{"id": "7", "command": "invoke", "name": "calculator", "params": {"input": "1+2"}, "timeout": "250ms"}
//
// Unknown fields, fields of the wrong type and fields that do not apply to
// the command are errors, so a typo is reported rather than ignored.
type Request struct {
	// ID is echoed in the reply. Optional; a string.
	ID string `json:"id,omitempty"`
	// Command is one of the names Commands returns.
	Command string `json:"command"`
	// Name is the tool of info and invoke.
	Name string `json:"name,omitempty"`
	// Params are invoke's tool parameters.
	Params map[string]any `json:"params,omitempty"`
	// Query is search's text.
	Query string `json:"query,omitempty"`
	// Category filters list.
	Category string `json:"category,omitempty"`
	// Timeout bounds invoke: seconds as a number, or a duration string
	// such as "250ms" (default 30s). For task_submit it bounds each
	// attempt (default 60s); for task_wait, the wait (default 30s).
	Timeout Duration `json:"timeout,omitempty"`

	// TaskID names the task of task_status, task_wait and task_cancel.
	TaskID string `json:"task_id,omitempty"`
	// Retries, Backoff, Priority, Tags, Budget and Cost are task_submit's
	// task options (see the task API).
	Retries  int               `json:"retries,omitempty"`
	Backoff  Duration          `json:"backoff,omitempty"`
	Priority int               `json:"priority,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	Budget   float64           `json:"budget,omitempty"`
	Cost     float64           `json:"cost,omitempty"`
	// State, Tag, Offset and Limit filter and page task_list.
	State  string `json:"state,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Offset int    `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// Reply answers exactly one request.
type Reply struct {
	ID     string     `json:"id"`
	Status string     `json:"status"` // "ok" or "error"
	Result any        `json:"result,omitzero"`
	Error  *ErrorInfo `json:"error,omitzero"`
}

// ErrorInfo is the error of a failed reply.
type ErrorInfo struct {
	Type    tools.ErrorType `json:"type"`
	Message string          `json:"message"`
}

// Reply statuses.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Err returns the reply's error as a *tools.Error, or nil for an ok reply.
func (r *Reply) Err() error {
	if r.Error == nil {
		return nil
	}
	return &tools.Error{Type: r.Error.Type, Err: errors.New(r.Error.Message)}
}

func okReply(id string, result any) *Reply {
	return &Reply{ID: id, Status: StatusOK, Result: result}
}

// ErrorReply builds the reply for err, classified by tools.TypeOf.
func ErrorReply(id string, err error) *Reply {
	return &Reply{ID: id, Status: StatusError, Error: &ErrorInfo{Type: tools.TypeOf(err), Message: err.Error()}}
}

// command is one protocol command: its handler and the request fields it
// accepts besides id and command.
type command struct {
	fields []string
	doc    string
	run    func(k *Kernel, ctx context.Context, r *Request) (any, error)
}

var commands = map[string]command{
	"list": {[]string{"category"}, "the tools, optionally of one category: {tools: [{name, category, description}], count}",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.list(r.Category), nil }},
	"info": {[]string{"name"}, "one tool's spec: {name, category, description, parameters, returns}",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.info(r.Name) }},
	"search": {[]string{"query"}, "tools whose name, category or description match every word: {query, tools, count}",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.search(r.Query) }},
	"invoke": {[]string{"name", "params", "timeout"}, "run a tool: the tool's result",
		func(k *Kernel, ctx context.Context, r *Request) (any, error) {
			if r.Name == "" {
				return nil, tools.Invalid("invoke: missing field \"name\"")
			}
			return k.Invoke(ctx, r.Name, r.Params, time.Duration(r.Timeout))
		}},
	"task_submit": {[]string{"name", "params", "timeout", "retries", "backoff", "priority", "tags", "budget", "cost"},
		"queue a tool invocation as a task: {task_id}; a full queue answers queue_full",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.submitTask(r) }},
	"task_status": {[]string{"task_id"}, "a task's status: {id, name, state, attempts, result, error, submitted, started, finished, ...}",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.taskStatus(r) }},
	"task_wait": {[]string{"task_id", "timeout"}, "wait until a task ends (at most timeout, default 30s): its status",
		func(k *Kernel, ctx context.Context, r *Request) (any, error) { return k.taskWait(ctx, r) }},
	"task_cancel": {[]string{"task_id"}, "cancel a queued or running task: its status",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.taskStatus(r) }},
	"task_list": {[]string{"state", "tag", "offset", "limit"}, "tasks by state or tag, paginated: {tasks, total, offset, next}",
		func(k *Kernel, _ context.Context, r *Request) (any, error) { return k.taskList(r) }},
	"task_stats": {nil, "the task manager's counters: {queued, running, retrying, succeeded, failed, timed_out, cancelled, submitted, ...}",
		func(k *Kernel, _ context.Context, _ *Request) (any, error) { return k.taskStats() }},
	"health": {nil, "the kernel's state: {status, tools, running, abandoned, calls, panics, goroutines, goroutines_baseline, goroutine_growth, heap_bytes, uptime_s, fault_rules} and, with tasks, {tasks_queued, tasks_running}",
		func(k *Kernel, _ context.Context, _ *Request) (any, error) { return k.Health(), nil }},
}

// Commands returns the protocol's command names, sorted.
func Commands() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Do answers one request given as a Go value. It never returns nil.
func (k *Kernel) Do(ctx context.Context, r *Request) *Reply {
	if r == nil {
		return ErrorReply("", tools.Invalid("request: nil"))
	}
	if r.Command == "" {
		return ErrorReply(r.ID, tools.Invalid("request: missing field \"command\"; one of: %s", strings.Join(Commands(), ", ")))
	}
	c, ok := commands[r.Command]
	if !ok {
		return ErrorReply(r.ID, tools.Errorf(tools.TypeNotFound, "request: unknown command %q; one of: %s", r.Command, strings.Join(Commands(), ", ")))
	}
	if err := checkFields(r, c.fields); err != nil {
		return ErrorReply(r.ID, err)
	}
	res, err := k.safeRun(ctx, c, r)
	if err != nil {
		return ErrorReply(r.ID, err)
	}
	return okReply(r.ID, res)
}

func (k *Kernel) safeRun(ctx context.Context, c command, r *Request) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			k.panics.Add(1)
			res, err = nil, &tools.Error{Type: tools.TypeInternal, Op: r.Command, Err: fmt.Errorf("panic: %v [%s]", p, panicSite())}
		}
	}()
	return c.run(k, ctx, r)
}

var requestFields = []string{"name", "params", "query", "category", "timeout", "task_id", "retries", "backoff",
	"priority", "tags", "budget", "cost", "state", "tag", "offset", "limit"}

// checkFields rejects fields that the command does not take.
func checkFields(r *Request, allowed []string) error {
	set := map[string]bool{
		"name":     r.Name != "",
		"params":   r.Params != nil,
		"query":    r.Query != "",
		"category": r.Category != "",
		"timeout":  r.Timeout != 0,
		"task_id":  r.TaskID != "",
		"retries":  r.Retries != 0,
		"backoff":  r.Backoff != 0,
		"priority": r.Priority != 0,
		"tags":     r.Tags != nil,
		"budget":   r.Budget != 0,
		"cost":     r.Cost != 0,
		"state":    r.State != "",
		"tag":      r.Tag != "",
		"offset":   r.Offset != 0,
		"limit":    r.Limit != 0,
	}
	for _, f := range requestFields {
		if set[f] && !slices.Contains(allowed, f) {
			return tools.Invalid("request: field %q does not apply to command %s", f, r.Command)
		}
	}
	return nil
}

// DoJSON answers one JSON request with one JSON reply. Malformed JSON,
// wrong field types and oversized requests get error replies; it never
// returns nil and never panics.
func (k *Kernel) DoJSON(ctx context.Context, data []byte) (out []byte) {
	if eff := k.opts.Faults.Eval("protocol:decode"); eff != nil {
		defer func() {
			if r := recover(); r != nil {
				inj, ok := r.(*fault.PanicValue)
				if !ok {
					panic(r)
				}
				out = EncodeReply(ErrorReply(peekID(data), &tools.Error{Type: tools.TypeInjected, Op: "request", Err: &inj.Injected}))
			}
		}()
		if err := eff.Before(ctx); err != nil {
			if !fault.IsInjected(err) {
				err = ctxError("request", ctx)
			}
			return EncodeReply(ErrorReply(peekID(data), err))
		}
		data = eff.AlterBytes(data)
	}
	r, err := DecodeRequest(data, k.opts.MaxRequestBytes)
	var rep *Reply
	if err != nil {
		rep = ErrorReply(peekID(data), err)
	} else {
		rep = k.Do(ctx, r)
		// The full list is the same for a registry generation: send its
		// JSON, encoded once, rather than encode it per request.
		if r.Command == "list" && r.Category == "" && rep.Status == StatusOK {
			if c := k.listC.Load(); c != nil && sameMap(rep.Result, c.reply) {
				if raw := c.encoded(); raw != nil {
					id, err := json.Marshal(rep.ID, encodeOpts)
					if err == nil {
						out := make([]byte, 0, len(raw)+len(id)+32)
						out = append(append(append(out, `{"id":`...), id...), `,"status":"ok","result":`...)
						return append(append(out, raw...), '}')
					}
				}
			}
		}
	}
	return EncodeReply(rep)
}

// sameMap reports whether v is the map m itself (not an equal copy).
func sameMap(v any, m map[string]any) bool {
	vm, ok := v.(map[string]any)
	return ok && reflect.ValueOf(vm).UnsafePointer() == reflect.ValueOf(m).UnsafePointer()
}

// encodeOpts: object keys sorted so replies are stable; invalid UTF-8 in
// a result is replaced rather than failing the reply.
var encodeOpts = json.JoinOptions(json.Deterministic(true), jsontext.AllowInvalidUTF8(true))

// EncodeReply marshals a reply. A result that cannot be marshalled turns
// the reply into an internal error, so a reply is always produced.
func EncodeReply(rep *Reply) []byte {
	out, err := json.Marshal(rep, encodeOpts)
	if err != nil {
		out, _ = json.Marshal(ErrorReply(rep.ID, &tools.Error{Type: tools.TypeInternal, Op: "reply", Err: err}), encodeOpts)
	}
	return out
}

// DecodeRequest parses a JSON request of at most max bytes (no limit when
// max <= 0). Errors are validation errors naming what was wrong, or
// too_large.
func DecodeRequest(data []byte, max int) (*Request, error) {
	if max > 0 && len(data) > max {
		return nil, tools.Errorf(tools.TypeTooLarge, "request: %d bytes exceeds the %d-byte limit", len(data), max)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, tools.Invalid("request: empty")
	}
	var r Request
	if err := json.Unmarshal(data, &r, json.RejectUnknownMembers(true)); err != nil {
		return nil, decodeError(err, data)
	}
	return &r, nil
}

func decodeError(err error, data []byte) error {
	var terr *tools.Error
	if errors.As(err, &terr) {
		return terr
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		switch {
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			return tools.Invalid("request: malformed JSON: unexpected end after %d bytes", len(data))
		case strings.Contains(syn.Err.Error(), "after top-level value"):
			return tools.Invalid("request: unexpected data after the JSON object at offset %d", syn.ByteOffset)
		}
		return tools.Invalid("request: malformed JSON at offset %d: %v", syn.ByteOffset, syn.Err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return tools.Invalid("request: malformed JSON: unexpected end after %d bytes", len(data))
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		field := strings.TrimPrefix(string(sem.JSONPointer), "/")
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			return tools.Invalid("request: unknown field %q", field)
		case field == "" && sem.GoType == reflect.TypeFor[Request]():
			return tools.Invalid("request: must be a JSON object, got %s", kindName(sem.JSONKind))
		case field != "":
			return tools.Invalid("request: field %q: expected %s, got %s", field, typeName(sem.GoType), kindName(sem.JSONKind))
		}
	}
	return tools.Invalid("request: %v", err)
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "a value of another kind"
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "a value of another kind"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Bool:
		return "boolean"
	case reflect.Int64, reflect.Float64, reflect.Int:
		if t == reflect.TypeFor[Duration]() {
			return "seconds or a duration string"
		}
		return "number"
	}
	return t.String()
}

// peekID finds a top-level string "id" in a request that failed to decode,
// reading at most the first 64 KiB, so an error reply can echo it.
func peekID(data []byte) string {
	if len(data) > 64<<10 {
		data = data[:64<<10]
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return ""
	}
	for dec.PeekKind() == '"' {
		key, err := dec.ReadToken()
		if err != nil {
			return ""
		}
		if key.String() == "id" {
			v, err := dec.ReadToken()
			if err != nil || v.Kind() != '"' {
				return ""
			}
			return v.String()
		}
		if dec.SkipValue() != nil {
			return ""
		}
	}
	return ""
}

// Duration is a timeout in a request: a number of seconds or a duration
// string ("250ms", "1.5s", "2m").
type Duration time.Duration

// UnmarshalJSON accepts a number of seconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	dur, err := ParseTimeout(v)
	if err != nil {
		return tools.Invalid("request: field \"timeout\": %v", err)
	}
	*d = Duration(dur)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// MaxDuration caps a parsed duration: 30 days.
const MaxDuration = 30 * 24 * time.Hour

// MinTimeout is the shortest timeout accepted. A shorter one (1e-12
// seconds, say) would round to zero, which means "the default".
const MinTimeout = time.Millisecond

// ParseTimeout is ParseDuration for a timeout (or a backoff): zero stays
// zero, the default, but a positive value under MinTimeout is an error
// rather than silently the default.
func ParseTimeout(v any) (time.Duration, error) {
	d, err := ParseDuration(v)
	if err != nil || d >= MinTimeout {
		return d, err
	}
	if secs, _ := seconds(v); secs > 0 {
		return 0, fmt.Errorf("%ss is below the %v minimum", strconv.FormatFloat(secs, 'g', -1, 64), MinTimeout)
	}
	return d, nil
}

// seconds is what ParseDuration read, in seconds.
func seconds(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case time.Duration:
		return x.Seconds(), true
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
		if d, err := time.ParseDuration(s); err == nil {
			return d.Seconds(), true
		}
	}
	return 0, false
}

// ParseDuration reads a duration given as a number of seconds (an int or a
// float), or a string: a Go duration ("250ms", "1h30m") or a bare number of
// seconds ("2.5"). Negative, non-finite and over-30-day values are errors.
func ParseDuration(v any) (time.Duration, error) {
	var secs float64
	switch x := v.(type) {
	case float64:
		secs = x
	case int:
		secs = float64(x)
	case int64:
		secs = float64(x)
	case time.Duration:
		secs = x.Seconds()
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			secs = f
			break
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want seconds or a duration such as \"250ms\" or \"1m30s\"", x)
		}
		secs = d.Seconds()
	default:
		return 0, fmt.Errorf("bad duration: want seconds or a duration string, got %s", tools.KindOf(v))
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) || secs < 0 {
		return 0, fmt.Errorf("bad duration %v: must be a finite number of seconds, not negative", v)
	}
	if secs > MaxDuration.Seconds() {
		return 0, fmt.Errorf("duration %v is over the 30-day maximum", v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
