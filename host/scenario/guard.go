package scenario

import (
	"context"
	"errors"
	"time"

	"spellhost/host/luavm"
)

// ErrRunaway is returned when a script did not stop within the grace
// period after its context ended. Lua states check their context between
// instructions and spellhost's own builtins check it in their loops, so
// this is the last line of defence; the runaway goroutine is abandoned
// and the process exits.
var ErrRunaway = errors.New("watchdog: the script did not stop after its limit and was abandoned")

// Grace bounds how long Guard waits after ctx ends, as a share of the
// limit: a script is stopped within about twice its limit.
const (
	minGrace = 100 * time.Millisecond
	maxGrace = 2 * time.Second
)

// Guard runs f on its own goroutine and returns its error. Once ctx is
// done, f gets a grace period to return (the time the limit allowed, at
// least 100ms and at most 2s); after that Guard returns ErrRunaway and
// leaves f's goroutine behind. A panic in f is returned as a
// *luavm.InternalError.
func Guard(ctx context.Context, f func() error) error {
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = luavm.Recovered(p, "")
			}
			done <- err
		}()
		err = f()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := min(max(time.Since(start), minGrace), maxGrace)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return ErrRunaway
	}
}
