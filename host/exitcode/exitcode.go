// Package exitcode names spellhost's process exit codes and carries them
// on errors, as k6 does: the code travels wrapped in the error up to main,
// the only place that calls os.Exit. Codes match k6's where the meaning
// matches.
package exitcode

import "errors"

// Code is a process exit code.
type Code int

// The exit codes. The README lists them.
const (
	OK               Code = 0
	Failure          Code = 1   // a command failed (a tool call, a file that could not be written)
	Usage            Code = 2   // bad command line: unknown command or flag, missing argument
	ThresholdsFailed Code = 99  // the run finished but a threshold failed
	SetupTimeout     Code = 100 // setup() overran its timeout
	TeardownTimeout  Code = 101 // teardown() overran its timeout
	Timeout          Code = 102 // the run's --timeout fired, or the watchdog stopped a runaway script
	InvalidConfig    Code = 104 // bad options or thresholds in the script, or bad flags for them
	Interrupted      Code = 105 // SIGINT or SIGTERM
	ScriptException  Code = 107 // an uncaught Lua error, or a syntax error
	ScriptAborted    Code = 108 // the script called abort()
	Panic            Code = 109 // a bug in spellhost itself
	MemoryLimit      Code = 111 // --max-memory was exceeded
)

type codedError struct {
	err  error
	code Code
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// WithCodeIfNone returns err carrying code, unless err already carries one.
func WithCodeIfNone(err error, code Code) error {
	if err == nil {
		return nil
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return err
	}
	return &codedError{err: err, code: code}
}

// Of returns the code err carries: OK for nil, Failure when it carries none.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return Failure
}
