package scenario

// What a run does when spellhost itself fails: a Go panic on any of the
// run's goroutines, or one a Lua state caught (luavm.InternalError), is a
// bug in spellhost. It is reported once with its Go stack, the run stops,
// and the result is kept so the summary and the output files are written;
// the exit code is 109.

import (
	"context"
	"fmt"

	"spellhost/host/exitcode"
	"spellhost/host/luavm"
	"spellhost/host/result"
)

// executeSafely is execute with a panic on its goroutine recovered and
// reported as a bug in spellhost; the result so far is kept.
func (r *runState) executeSafely(ctx context.Context) (res *result.Run, err error) {
	res = &result.Run{Version: result.Version, Script: r.cfg.Script, Seed: r.cfg.Seed, Start: r.store.Start()}
	defer func() {
		if p := recover(); p != nil {
			ie := luavm.Recovered(p, "the run")
			r.internal(ie)
			err = ie
		}
	}()
	return r.execute(ctx, res)
}

// internal reports a bug in spellhost caught during the run (a Go panic):
// the first one's Go stack goes to stderr, and the run stops with exit
// 109 once it has written what it recorded.
func (r *runState) internal(ie *luavm.InternalError) {
	r.bugMu.Lock()
	first := r.bug == nil
	if first {
		r.bug = ie
	}
	r.bugMu.Unlock()
	if first && r.cfg.Stderr != nil {
		fmt.Fprintf(r.cfg.Stderr, "spellhost: %v\n%s\n", ie, ie.Stack)
	}
	r.cancel(&StopError{Reason: ie.Error(), Status: "internal_error", Code: exitcode.Panic})
}

// hook calls the test hook, if any.
func (r *runState) hook(point string) {
	if r.cfg.TestHook != nil {
		r.cfg.TestHook(point)
	}
}

// recovered turns a panic on one of the run's goroutines into a reported
// internal error; use it as defer r.recovered("where", &err).
func (r *runState) recovered(where string, err *error) {
	if p := recover(); p != nil {
		ie := luavm.Recovered(p, where)
		r.internal(ie)
		if err != nil {
			*err = ie
		}
	}
}
