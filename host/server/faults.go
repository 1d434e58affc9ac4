package server

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"spellhost/host/fault"
	"spellhost/tools"
)

// faultTarget is the one point where the server consults the fault rules.
const faultTarget = "net:server"

// injectBefore applies what the net:server rules decided for a request
// before it is handled: a delay or a hang, an injected error or status, a
// dropped or reset connection. It reports whether the request was
// answered (or cut) here. Effects on the reply's body (slow, partial,
// corrupt) are kept for reply.
func (s *Server) injectBefore(ex *exchange, r *http.Request) bool {
	eff := s.faults.Eval(faultTarget)
	if eff == nil {
		return false
	}
	ex.eff = eff
	if eff.Delay > 0 {
		s.metrics.faults.WithLabelValues("delay").Inc()
	}
	if eff.Hang {
		s.metrics.faults.WithLabelValues("hang").Inc()
	}
	if err := eff.Before(r.Context()); err != nil {
		if !fault.IsInjected(err) {
			return true // the client left during a delay or a hang
		}
		status := eff.Status
		kind := "status"
		if status == 0 {
			kind = "error"
			status = injectedStatus(err)
		}
		s.metrics.faults.WithLabelValues(kind).Inc()
		ex.fail(status, tools.TypeInjected, err.Error())
		return true
	}
	switch {
	case eff.Drop:
		s.metrics.faults.WithLabelValues("drop").Inc()
		s.cutConn(ex, "drop")
		return true
	case eff.Reset:
		s.metrics.faults.WithLabelValues("reset").Inc()
		s.cutConn(ex, "reset")
		return true
	}
	return false
}

// injectedStatus is the status of an injected error: the status of the
// error type it stands for (error(timeout) is 504, error(unavailable),
// down and throttle 503), else 500.
func injectedStatus(err error) int {
	var in *fault.Injected
	if !errors.As(err, &in) {
		return http.StatusInternalServerError
	}
	if in.As == "down" || strings.HasPrefix(in.As, "throttled") {
		return http.StatusServiceUnavailable
	}
	for _, t := range tools.ErrorTypes {
		if in.As == string(t) {
			return StatusOf(t)
		}
	}
	for _, t := range []tools.ErrorType{TypeUnauthorized, TypeForbidden, TypeRateLimited, TypeUnavailable, TypeConflict} {
		if in.As == string(t) {
			return StatusOf(t)
		}
	}
	return http.StatusInternalServerError
}

// replyFaulty writes a reply through corrupt (one byte changed), partial
// (the body cut, then the connection closed) and slow (paced at so many
// bytes per second). Content-Length always announces the whole body, so a
// cut is visible to the client as a short read.
func (s *Server) replyFaulty(ex *exchange, status int, body []byte) {
	eff := ex.eff
	if eff.Corrupt {
		s.metrics.faults.WithLabelValues("corrupt").Inc()
		body = eff.AlterBytes(body)
	}
	ex.w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	ex.WriteHeader(status)
	send := body
	if eff.Partial >= 0 {
		n := eff.Partial
		if n == 0 {
			n = len(body) / 2
		}
		if n < len(body) {
			s.metrics.faults.WithLabelValues("partial").Inc()
			send = body[:n]
		}
	}
	if eff.SlowRate > 0 {
		s.metrics.faults.WithLabelValues("slow").Inc()
		s.pace(ex, send, eff.SlowRate)
	} else if len(send) > 0 {
		ex.Write(send)
	}
	if len(send) < len(body) {
		ex.Flush()
		s.cutConn(ex, "partial")
	}
}

// pace writes b at about perSecond bytes per second, in chunks of a
// twentieth of a second, until done or the client leaves.
func (s *Server) pace(ex *exchange, b []byte, perSecond float64) {
	chunk := max(1, int(perSecond/20))
	done := ex.req.Context().Done()
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := ex.Write(b[:n]); err != nil {
			return
		}
		ex.Flush()
		b = b[n:]
		if len(b) == 0 {
			return
		}
		t := time.NewTimer(time.Duration(float64(n) / perSecond * float64(time.Second)))
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return
		}
	}
}

// cutConn closes the request's connection: at once after what was sent
// (drop, partial), or with a TCP reset (reset: SO_LINGER 0). An HTTP/2
// stream, which cannot be taken over, is aborted instead.
func (s *Server) cutConn(ex *exchange, how string) {
	ex.cut = how
	conn, _, err := http.NewResponseController(ex.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if how == "reset" {
		c := conn
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		if tcp, ok := c.(*net.TCPConn); ok {
			tcp.SetLinger(0)
		}
	}
	conn.Close()
}
