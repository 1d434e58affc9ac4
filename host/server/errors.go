package server

import (
	"net/http"

	json "github.com/go-json-experiment/json"

	"spellhost/host/task"
	"spellhost/tools"
)

// The error types that only the HTTP transport answers; the kernel's
// types (validation_error, not_found, too_large, timeout, ...) keep their
// meaning. Every error reply carries one of them in the protocol's error
// envelope: {"id", "status": "error", "error": {"type", "message"}}.
const (
	// TypeUnauthorized: no API key, or a malformed one (401).
	TypeUnauthorized tools.ErrorType = "unauthorized"
	// TypeForbidden: an API key the server does not know (403).
	TypeForbidden tools.ErrorType = "forbidden"
	// TypeRateLimited: the key is over its rate or its concurrent
	// requests (429, with Retry-After).
	TypeRateLimited tools.ErrorType = "rate_limited"
	// TypeUnavailable: the server is draining (503, Connection: close).
	TypeUnavailable tools.ErrorType = "unavailable"
	// TypeConflict: the request contradicts the state, as cancelling a
	// task that already ended (409).
	TypeConflict tools.ErrorType = "conflict"
)

// StatusOf is the HTTP status of an error reply of type typ:
//
//	validation_error  400    unauthorized   401
//	permission_denied 403    forbidden      403
//	not_found         404    conflict       409
//	budget_exhausted  409    too_large      413
//	execution_error   422    rate_limited   429
//	internal          500    injected       500
//	cancelled         503    queue_full     503 (Retry-After)
//	unavailable       503    timeout        504
//
// Particular places answer other statuses with these types: a request body
// that arrives too slowly is 408 (timeout), a wrong method 405 and a wrong
// content type 415 (validation_error), and a status(N) fault N (injected).
// An unknown type is 500.
func StatusOf(typ tools.ErrorType) int {
	switch typ {
	case tools.TypeValidation:
		return http.StatusBadRequest
	case TypeUnauthorized:
		return http.StatusUnauthorized
	case tools.TypePermission, TypeForbidden:
		return http.StatusForbidden
	case tools.TypeNotFound:
		return http.StatusNotFound
	case TypeConflict, task.TypeBudget:
		return http.StatusConflict
	case tools.TypeTooLarge:
		return http.StatusRequestEntityTooLarge
	case tools.TypeExecution:
		return http.StatusUnprocessableEntity
	case TypeRateLimited:
		return http.StatusTooManyRequests
	case tools.TypeCancelled, task.TypeQueueFull, TypeUnavailable:
		return http.StatusServiceUnavailable
	case tools.TypeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// errorTypeOf reads the error type of an encoded reply, which the
// kernel writes as {"id":"...","status":"ok"|"error",...}: a success
// costs a scan of the id.
func errorTypeOf(reply []byte) (tools.ErrorType, bool) {
	const head = `{"id":"`
	if len(reply) < len(head) || string(reply[:len(head)]) != head {
		return tools.TypeInternal, true
	}
	i := len(head)
	for i < len(reply) && reply[i] != '"' {
		if reply[i] == '\\' {
			i++
		}
		i++
	}
	const ok = `","status":"ok"`
	if rest := reply[min(i, len(reply)):]; len(rest) >= len(ok) && string(rest[:len(ok)]) == ok {
		return "", false
	}
	var r struct {
		Error struct {
			Type tools.ErrorType `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(reply, &r) != nil || r.Error.Type == "" {
		return tools.TypeInternal, true
	}
	return r.Error.Type, true
}
