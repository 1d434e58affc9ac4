package vuhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/net/http2"

	"spellhost/host/fault"
	"spellhost/tools/perm"
)

// Error codes, in the ranges load-testing scripts already branch on:
// 1000s general, 1100s DNS, 1200s TCP, 1300s TLS, 1400s and 1500s a
// response with that status (1000 + status), 1600s HTTP/2, 1700s content.
const (
	CodeGeneric          = 1000 // none of those below
	CodeInvalidURL       = 1020 // the URL does not parse, or its scheme is not http or https
	CodeTimeout          = 1050 // the request's timeout passed
	CodeDNS              = 1100 // a name lookup failed
	CodeNoSuchHost       = 1101 // the name does not exist
	CodeDeniedAddress    = 1110 // --allow-net refused an IP address
	CodeDeniedHost       = 1111 // --allow-net refused a host name
	CodeTCP              = 1200 // a TCP error none of those below
	CodeBrokenPipe       = 1201 // a write on a connection the server closed
	CodeUnknownErrno     = 1202 // the system reported another error on the connection
	CodeDial             = 1210 // connecting failed
	CodeDialTimeout      = 1211 // connecting timed out
	CodeRefused          = 1212 // the server refused the connection
	CodeDialErrno        = 1213 // connecting failed with another system error
	CodeReset            = 1220 // the server reset the connection
	CodeTLS              = 1300 // a TLS error none of those below
	CodeTLSHeader        = 1301 // the server did not answer TLS
	CodeUnknownAuthority = 1310 // the certificate's authority is unknown
	CodeCertHostname     = 1311 // the certificate does not name the host
	CodeHTTP2GoAway      = 1610 // the server sent GOAWAY (plus 1 + the HTTP/2 error code when known)
	CodeHTTP2Stream      = 1630 // an HTTP/2 stream error (likewise)
	CodeHTTP2Connection  = 1650 // an HTTP/2 connection error (likewise)
	CodeDecompression    = 1701 // the body's content encoding did not decode
	CodeTooLarge         = 1702 // the body is over Config.MaxResponseBytes (spellhost's own code)
	CodeMalformed        = 1703 // the response is not valid HTTP (spellhost's own code)
)

// Error is a failed request: the code scripts branch on and a message.
// Err is the cause (a *net.OpError, perm.ErrDenied, an injected fault, ...).
type Error struct {
	Code int
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Sentinels of the engine's own failures; errors.Is finds them in
// Response.Err.
var (
	// ErrTimeout is the cause of a request whose timeout passed.
	ErrTimeout = errors.New("request timeout")
	// ErrTooLarge is the cause of a body over the response limit.
	ErrTooLarge = errors.New("response body over the limit")
	// ErrMalformed is the cause of a response that is not valid HTTP/1.x.
	ErrMalformed = errors.New("malformed HTTP response")
)

func newError(code int, err error) *Error { return &Error{Code: code, Msg: err.Error(), Err: err} }

// classify gives err its code. ipHost says whether the host of the request
// was an IP address (a refusal by --allow-net is coded apart for names and
// addresses).
func classify(err error, ipHost bool) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code := CodeGeneric
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		hdrErr  tls.RecordHeaderError
		verify  *tls.CertificateVerificationError
		alert   tls.AlertError
		goAway  http2.GoAwayError
		stream  http2.StreamError
		connErr http2.ConnectionError
	)
	switch {
	case errors.Is(err, ErrTimeout):
		code = CodeTimeout
	case errors.Is(err, ErrTooLarge):
		code = CodeTooLarge
	case errors.Is(err, ErrMalformed):
		code = CodeMalformed
	case errors.Is(err, perm.ErrDenied) && ipHost:
		code = CodeDeniedAddress
	case errors.Is(err, perm.ErrDenied):
		code = CodeDeniedHost
	case errors.Is(err, perm.ErrInvalid):
		code = CodeInvalidURL
	case errors.As(err, &dnsErr):
		code = CodeDNS
		if dnsErr.IsNotFound {
			code = CodeNoSuchHost
		}
	case errors.As(err, &unknown):
		code = CodeUnknownAuthority
	case errors.As(err, &hostErr):
		code = CodeCertHostname
	case errors.As(err, &hdrErr):
		code = CodeTLSHeader
	case errors.As(err, &verify), errors.As(err, &alert):
		code = CodeTLS
	case errors.As(err, &goAway):
		code = CodeHTTP2GoAway + h2offset(goAway.ErrCode)
	case errors.As(err, &stream):
		code = CodeHTTP2Stream + h2offset(stream.Code)
	case errors.As(err, &connErr):
		code = CodeHTTP2Connection + h2offset(http2.ErrCode(connErr))
	case errors.As(err, &opErr):
		code = opCode(opErr)
	case errors.Is(err, syscall.ECONNRESET):
		code = CodeReset
	case errors.Is(err, syscall.EPIPE):
		code = CodeBrokenPipe
	case errors.Is(err, syscall.ECONNREFUSED):
		code = CodeRefused
	}
	return newError(code, err)
}

// h2offset places a known HTTP/2 error code after its range's base.
func h2offset(c http2.ErrCode) int {
	if c > http2.ErrCodeHTTP11Required {
		return 0
	}
	return 1 + int(c)
}

func opCode(e *net.OpError) int {
	if e.Op == "remote error" || e.Op == "local error" { // TLS alerts
		return CodeTLS
	}
	var errno syscall.Errno
	isErrno := errors.As(e.Err, &errno)
	if e.Op == "dial" {
		switch {
		case e.Timeout():
			return CodeDialTimeout
		case isErrno && errno == syscall.ECONNREFUSED:
			return CodeRefused
		case isErrno:
			return CodeDialErrno
		}
		return CodeDial
	}
	switch {
	case isErrno && errno == syscall.ECONNRESET:
		return CodeReset
	case isErrno && errno == syscall.EPIPE:
		return CodeBrokenPipe
	case isErrno:
		return CodeUnknownErrno
	}
	return CodeTCP
}

// injectedError turns a fault rule's error into the failure it stands
// for: error(timeout) fails as a timeout would, down as a refused
// connection, and so on. The cause keeps the injected error, so reports
// count it apart.
func injectedError(err error) *Error {
	var in *fault.Injected
	code := CodeGeneric
	if errors.As(err, &in) {
		switch in.As {
		case "timeout":
			code = CodeTimeout
		case "refused", "down":
			code = CodeRefused
		case "reset":
			code = CodeReset
		case "dns":
			code = CodeNoSuchHost
		case "tls":
			code = CodeTLS
		}
	}
	return newError(code, err)
}

// isDeadline reports whether err is a deadline set on the connection
// passing.
func isDeadline(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// isEOF reports whether err means the server closed the connection.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
