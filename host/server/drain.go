package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"spellhost/host/task"
)

// ShutdownReason ends the tasks that a drain cancels: their error is
// "task ID: cancelled: server shutting down".
const ShutdownReason = "server shutting down"

// Drain stops the server gracefully, within ctx's deadline:
//
//  1. /readyz turns 503 and every new request is answered 503 with
//     Connection: close (/healthz still answers 200);
//  2. the tasks are cancelled with the cause ShutdownReason, so each ends
//     in exactly one terminal state, and the event streams following them
//     send their end (an in-memory task cannot outlive the process); a
//     durable backend's tasks are left queued for the next server or for
//     workers elsewhere, and closing the kernel hands back the attempts
//     its own workers hold;
//  3. the requests in flight finish, and the running tasks' tools return;
//  4. the listener closes and idle connections with it; event streams
//     still open get an error event.
//
// When ctx ends first, the connections still open are closed and Drain
// returns an error saying how many requests were cut. Close the kernel
// after Drain returns.
func (s *Server) Drain(ctx context.Context) error {
	start := time.Now()
	s.draining.Store(true)
	s.metrics.draining.Set(1)
	s.log.Info("draining", slog.Int64("in_flight", s.active.Load()))
	var running []string
	m, started := s.taskManager()
	if d, ok := m.(task.Durable); ok && d.Durable() {
		started = false // the tasks outlive this server
	}
	if started {
		running = m.CancelAll(ShutdownReason)
	}
	for s.active.Load() > 0 {
		select {
		case <-s.idle:
		case <-ctx.Done():
			return s.cut(fmt.Sprintf("%d requests still in flight", s.active.Load()), start)
		}
	}
	if started {
		// Requests admitted before the gate may have submitted since.
		running = append(running, m.CancelAll(ShutdownReason)...)
		if _, err := m.WaitAll(ctx, running); err != nil && ctx.Err() != nil {
			return s.cut(fmt.Sprintf("%d running tasks did not stop", len(running)), start)
		}
	}
	s.closeStreams()
	if err := s.http.Shutdown(ctx); err != nil {
		return s.cut("connections still open", start)
	}
	s.log.Info("drained", slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// taskManager returns the kernel's task manager when it started; a
// kernel that never saw a task has none to drain.
func (s *Server) taskManager() (task.Queue, bool) {
	if _, started := s.k.TaskStats(); !started {
		return nil, false
	}
	tm, err := s.k.Tasks()
	if err != nil {
		return nil, false
	}
	return tm, true
}

func (s *Server) closeStreams() { s.closeMu.Do(func() { close(s.closing) }) }

// cut closes every connection after a drain overran its deadline.
func (s *Server) cut(what string, start time.Time) error {
	s.closeStreams()
	s.http.Close()
	err := fmt.Errorf("server: drain: %s after %v; their connections were closed", what, time.Since(start).Round(time.Millisecond))
	s.log.Warn("drain overran", slog.String("error", err.Error()))
	return err
}

// Close stops the server at once: the listener and every connection
// close, event streams end. Prefer Drain.
func (s *Server) Close() error {
	s.draining.Store(true)
	s.closeStreams()
	return s.http.Close()
}
