package tools

import (
	"context"
	"errors"
	"fmt"
)

// ErrorType classifies a failure. It is the `type` field of a protocol error
// reply and of a Lua error value, so scripts branch on it. The set is small
// and documented; every error the kernel returns maps to exactly one type.
type ErrorType string

// The error types. The protocol documents each one.
const (
	// TypeValidation: the request or the tool parameters are wrong
	// (missing required, wrong type, unknown value, unknown parameter,
	// malformed JSON).
	TypeValidation ErrorType = "validation_error"
	// TypeNotFound: no such tool, task or command.
	TypeNotFound ErrorType = "not_found"
	// TypeExecution: the tool ran and failed (division by zero, bad input
	// content, an HTTP server that answered 500 when the tool required 2xx).
	TypeExecution ErrorType = "execution_error"
	// TypeTimeout: a deadline fired before the work finished.
	TypeTimeout ErrorType = "timeout"
	// TypeCancelled: the caller cancelled the work.
	TypeCancelled ErrorType = "cancelled"
	// TypeTooLarge: a request, parameter, file or response is over a limit.
	TypeTooLarge ErrorType = "too_large"
	// TypeInternal: a bug: a tool panicked. The kernel keeps serving.
	TypeInternal ErrorType = "internal"
	// TypeInjected: a failure injected on purpose by a fault rule.
	TypeInjected ErrorType = "injected"
	// TypePermission: the sandbox refused the call; the message names the
	// flag that would allow it.
	TypePermission ErrorType = "permission_denied"
)

// ErrorTypes lists the error types defined here, in documentation order.
// Other packages add their own (the task manager's queue_full and
// budget_exhausted); kernel.ErrorTypes lists all that a reply can carry.
var ErrorTypes = []ErrorType{
	TypeValidation, TypeNotFound, TypeExecution, TypeTimeout, TypeCancelled,
	TypeTooLarge, TypeInternal, TypeInjected, TypePermission,
}

// Error is a classified failure. Op names where it happened ("tool
// calculator", "request"); Err carries the cause.
type Error struct {
	Type ErrorType
	Op   string
	Err  error
}

// Sentinels for errors.Is: errors.Is(err, tools.ErrTimeout) holds for any
// *Error of type timeout, whatever its message.
var (
	ErrValidation = &Error{Type: TypeValidation}
	ErrNotFound   = &Error{Type: TypeNotFound}
	ErrExecution  = &Error{Type: TypeExecution}
	ErrTimeout    = &Error{Type: TypeTimeout}
	ErrCancelled  = &Error{Type: TypeCancelled}
	ErrTooLarge   = &Error{Type: TypeTooLarge}
	ErrInternal   = &Error{Type: TypeInternal}
	ErrInjected   = &Error{Type: TypeInjected}
	ErrPermission = &Error{Type: TypePermission}
)

func (e *Error) Error() string {
	msg := string(e.Type)
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Op == "" {
		return msg
	}
	return e.Op + ": " + msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's type.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.Op == "" && t.Type == e.Type
}

// Errorf returns an *Error of the given type with a formatted cause. A %w
// verb in format wraps as fmt.Errorf does.
func Errorf(t ErrorType, format string, args ...any) error {
	return &Error{Type: t, Err: fmt.Errorf(format, args...)}
}

// Invalid returns a validation error with a formatted message.
func Invalid(format string, args ...any) error { return Errorf(TypeValidation, format, args...) }

// Failed returns an execution error with a formatted message.
func Failed(format string, args ...any) error { return Errorf(TypeExecution, format, args...) }

// WithOp returns err with its origin set to op unless it already has one. A
// non-*Error err becomes an *Error of the type TypeOf gives it.
func WithOp(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Op != "" {
			return err
		}
		return &Error{Type: e.Type, Op: op, Err: e.Err}
	}
	return &Error{Type: TypeOf(err), Op: op, Err: err}
}

// Typed is an error that knows its type without being an *Error: the
// permission layer's refusals implement it, so the core classifies them
// without importing the layer.
type Typed interface {
	error
	ErrorType() ErrorType
}

// TypeOf classifies err: the type of the outermost *Error in its chain;
// otherwise of the first Typed error; otherwise timeout for a deadline,
// cancelled for a cancellation, and execution_error for anything else.
func TypeOf(err error) ErrorType {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	var t Typed
	if errors.As(err, &t) {
		return t.ErrorType()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return TypeTimeout
	case errors.Is(err, context.Canceled):
		return TypeCancelled
	}
	return TypeExecution
}
