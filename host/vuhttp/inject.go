package vuhttp

import (
	"context"
	"fmt"
	"time"

	"spellhost/host/fault"
	"spellhost/tools"
)

// injectBefore applies a fault rule's effect before the network: it waits
// out a delay or a hang, then answers with the failure or status the rule
// asks for (done). wait is the time waited, counted in the first
// exchange's waiting time.
func (c *Client) injectBefore(ctx context.Context, eff *fault.Effect, deadline time.Time, timeout time.Duration, resp *Response, ranges []StatusRange) (wait time.Duration, done bool) {
	if eff.Delay > 0 || eff.Hang {
		d := eff.Delay
		if eff.Hang {
			if eff.HangFor > 0 {
				d += eff.HangFor
			} else {
				d = time.Until(deadline) + time.Second // until the timeout fires
			}
		}
		start := c.now()
		err := pause(ctx, d, deadline, timeout)
		wait = c.now() - start
		if err != nil {
			c.fail(resp, err, false)
			resp.Timings.Waiting, resp.Timings.Duration = wait, wait
			resp.Injected = true
			return 0, true
		}
	}
	var status int
	switch {
	case eff.Err != nil:
		e := injectedError(eff.Err)
		resp.Err, resp.ErrorCode = e, e.Code
	case eff.Reset:
		err := &tools.Error{Type: tools.TypeInjected, Op: "http", Err: &fault.Injected{Rule: eff.Rule, As: "reset"}}
		resp.Err, resp.ErrorCode = &Error{Code: CodeReset, Msg: "read: connection reset by peer (" + err.Error() + ")", Err: err}, CodeReset
	case eff.Status > 0:
		status = eff.Status
	default:
		return wait, false
	}
	resp.Injected = true
	resp.Timings.Waiting, resp.Timings.Duration = wait, wait
	if status > 0 {
		resp.Status, resp.Proto = status, "HTTP/1.1"
		c.finishExchange(resp, ranges, nil, false)
	}
	return 0, true
}

// pause waits d, ending early with the request's timeout at deadline or
// with the end of ctx.
func pause(ctx context.Context, d time.Duration, deadline time.Time, timeout time.Duration) error {
	timedOut := false
	if left := time.Until(deadline); d >= left {
		d, timedOut = max(left, 0), true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		if timedOut {
			if ctx.Err() != nil {
				return fmt.Errorf("request interrupted: %w", context.Cause(ctx))
			}
			return fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("request interrupted: %w", context.Cause(ctx))
	}
}
