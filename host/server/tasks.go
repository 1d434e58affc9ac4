package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	json "github.com/go-json-experiment/json"

	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/tools"
)

// taskID reads the {id} of a task route: "t-" and 6 to 20 digits. It
// answers 400 itself for anything else.
func (ex *exchange) taskID(r *http.Request) (string, bool) {
	id := r.PathValue("id")
	ok := len(id) >= 8 && len(id) <= 22 && id[:2] == "t-"
	for i := 2; ok && i < len(id); i++ {
		ok = id[i] >= '0' && id[i] <= '9'
	}
	if !ok {
		ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("task id %s: want t- and digits, as t-000001", safe(id)))
	}
	return id, ok
}

// submitTask answers POST /v1/tasks: the body holds task_submit's fields
// (name, params, timeout, retries, backoff, priority, tags, budget, cost).
func (s *Server) submitTask(ex *exchange, r *http.Request) {
	if _, ok := ex.query(r); !ok {
		return
	}
	body, ok := ex.readBody(r)
	if !ok {
		return
	}
	req, err := kernel.DecodeRequest(body, int(s.cfg.MaxBodyBytes))
	if err != nil {
		ex.failErr(err)
		return
	}
	if req.Command != "" || req.ID != "" {
		ex.fail(http.StatusBadRequest, tools.TypeValidation,
			"request body: the fields command and id do not apply: the route names the command, and the reply carries the request id")
		return
	}
	req.Command, req.ID = "task_submit", ex.id
	rep := s.k.Do(r.Context(), req)
	if rep.Error == nil {
		if m, ok := rep.Result.(map[string]any); ok {
			if id, ok := m["task_id"].(string); ok {
				ex.w.Header().Set("Location", "/v1/tasks/"+id)
			}
		}
	}
	ex.replyKernel(rep, http.StatusCreated)
}

func (s *Server) taskStatus(ex *exchange, r *http.Request) {
	id, ok := ex.taskID(r)
	if !ok {
		return
	}
	if _, ok := ex.query(r); !ok {
		return
	}
	ex.replyKernel(s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "task_status", TaskID: id}), http.StatusOK)
}

// cancelTask answers DELETE /v1/tasks/{id}: 200 with the status when the
// task ended cancelled at once (it was queued or retrying), 202 when a
// running task was asked to stop (it ends cancelled when its tool
// returns), 409 when it had already ended.
func (s *Server) cancelTask(ex *exchange, r *http.Request) {
	id, ok := ex.taskID(r)
	if !ok {
		return
	}
	if _, ok := ex.query(r); !ok {
		return
	}
	m, err := s.k.Tasks()
	if err != nil {
		ex.failErr(err)
		return
	}
	st, err := m.Status(id)
	if err != nil {
		ex.failErr(err)
		return
	}
	if st.State.Terminal() {
		ex.fail(http.StatusConflict, TypeConflict, fmt.Sprintf("task %s already ended %s", id, st.State))
		return
	}
	st, err = m.Cancel(id)
	switch {
	case err != nil:
		ex.failErr(err)
		return
	case st.State.Terminal() && st.State != task.Cancelled:
		ex.fail(http.StatusConflict, TypeConflict, fmt.Sprintf("task %s ended %s before the cancel", id, st.State))
		return
	}
	code := http.StatusOK
	if !st.State.Terminal() {
		code = http.StatusAccepted
	}
	ex.replyKernel(&kernel.Reply{ID: ex.id, Status: kernel.StatusOK, Result: kernel.StatusMap(st)}, code)
}

// listTasks answers GET /v1/tasks?state=&tag=&page=&page_size=: task_list
// by page (from 1; page_size 1 to 1000, default 100). The result adds
// page, page_size and next_page (0 when this is the last) to task_list's.
func (s *Server) listTasks(ex *exchange, r *http.Request) {
	q, ok := ex.query(r, "state", "tag", "page", "page_size")
	if !ok {
		return
	}
	num := func(name string, def, hi int) (int, bool) {
		v, given := q[name]
		if !given {
			return def, true
		}
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > hi {
			ex.fail(http.StatusBadRequest, tools.TypeValidation, fmt.Sprintf("query parameter %s %s: want a whole number from 1 to %d", name, safe(v[0]), hi))
			return 0, false
		}
		return n, true
	}
	page, ok := num("page", 1, 1_000_000)
	if !ok {
		return
	}
	size, ok := num("page_size", task.DefaultListLimit, task.MaxListLimit)
	if !ok {
		return
	}
	if st, given := q["state"]; given {
		if _, err := task.ParseState(st[0]); err != nil {
			ex.failErr(tools.WithOp("query parameter state", err))
			return
		}
	}
	rep := s.k.Do(r.Context(), &kernel.Request{ID: ex.id, Command: "task_list", State: q.Get("state"), Tag: q.Get("tag"),
		Offset: (page - 1) * size, Limit: size})
	if res, ok := rep.Result.(map[string]any); ok {
		res["page"], res["page_size"], res["next_page"] = page, size, 0
		if next, _ := res["next"].(int); next > 0 {
			res["next_page"] = page + 1
		}
	}
	ex.replyKernel(rep, http.StatusOK)
}

// Event stream lines.
var (
	sseState     = []byte("event: state\ndata: ")
	sseEnd       = []byte("event: end\ndata: ")
	sseError     = []byte("event: error\ndata: ")
	sseHeartbeat = []byte(": heartbeat\n\n")
	sseClose     = []byte("\n\n")
)

// taskEvents answers GET /v1/tasks/{id}/events with server-sent events:
// "state" with the task's status (the protocol's task_status result) at
// once and at each change of state, comment lines as heartbeats, then
// "end" with the final status, and the stream closes. A reader too slow
// for the changes misses intermediate states, never the final one. When
// the server shuts down first, "error" carries an unavailable envelope.
func (s *Server) taskEvents(ex *exchange, r *http.Request) {
	id, ok := ex.taskID(r)
	if !ok {
		return
	}
	if _, ok := ex.query(r); !ok {
		return
	}
	m, err := s.k.Tasks()
	if err != nil {
		ex.failErr(err)
		return
	}
	ch, stop, err := m.Watch(id)
	if err != nil {
		ex.failErr(err)
		return
	}
	defer stop()
	s.leave(ex) // a stream lasts as long as its task: the drain ends it
	ex.extend()
	rc := http.NewResponseController(ex)
	h := ex.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	ex.WriteHeader(http.StatusOK)
	write := func(parts ...[]byte) bool {
		rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		for _, p := range parts {
			if _, err := ex.Write(p); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	if !write() {
		return
	}
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	done := r.Context().Done()
	for {
		select {
		case st, open := <-ch:
			if !open {
				return // the final status came before; a closed channel after it is the end
			}
			data, err := json.Marshal(kernel.StatusMap(st), encodeOpts)
			if err != nil {
				data = kernel.EncodeReply(&kernel.Reply{ID: ex.id, Status: kernel.StatusError,
					Error: &kernel.ErrorInfo{Type: tools.TypeInternal, Message: "server: task status: " + err.Error()}})
				write(sseError, data, sseClose)
				return
			}
			if !write(sseState, data, sseClose) {
				return
			}
			if st.State.Terminal() {
				write(sseEnd, data, sseClose)
				return
			}
		case <-beat.C:
			if !write(sseHeartbeat) {
				return
			}
		case <-s.closing:
			write(sseError, kernel.EncodeReply(&kernel.Reply{ID: ex.id, Status: kernel.StatusError,
				Error: &kernel.ErrorInfo{Type: TypeUnavailable, Message: "server: shutting down before task " + id + " ended"}}), sseClose)
			return
		case <-done:
			return // the client left
		}
	}
}
