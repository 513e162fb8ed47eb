package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Span event names the layers of a stack add with AddEvent. Each is added
// to the span current in the layer's context: the attempt span for a layer
// below NewAttemptTrace (the base transport), else the call span.
const (
	// EventRetryScheduled: the retry layer decided to send again.
	EventRetryScheduled = "securecall.retry.scheduled"
	// EventThrottled: a client-side limit or a server-requested cooldown
	// made the request wait or refused it.
	EventThrottled = "securecall.throttled"
	// EventBreakerRejected: the circuit breaker was open and the request
	// was not sent.
	EventBreakerRejected = "securecall.breaker.rejected"
	// EventTokenRefreshed: a new token was fetched. Reserved for a
	// caller's token source or layer: no layer of this package adds it
	// (the auth layer cannot tell a fetched token from a cached one).
	EventTokenRefreshed = "securecall.token.refreshed"
	// EventPinMismatch: a report-only pin set did not match the server's
	// verified chain and the connection was let through.
	EventPinMismatch = "securecall.tls.pin_mismatch"
	// EventRedirect: a redirect hop was followed or refused. Reserved
	// for a caller's CheckRedirect wrapper: no layer of this package adds
	// it (redirects are followed by http.Client, above the call span).
	EventRedirect = "securecall.redirect"
)

// AddEvent adds an event called name, with attrs, to the span current in
// ctx: inside a stack, the attempt span when the caller runs below
// NewAttemptTrace, else the call span of NewCallTrace. It does nothing, and
// allocates nothing, when that span is not recording (tracing off, or the
// call not sampled). attrs must not carry secrets: they are not redacted.
func AddEvent(ctx context.Context, name string, attrs ...attribute.KeyValue) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if len(attrs) == 0 {
		span.AddEvent(name)
		return
	}
	// Cloned so that attrs does not escape: a caller's variadic array then
	// stays on its stack when the span is not recording.
	span.AddEvent(name, trace.WithAttributes(slices.Clone(attrs)...))
}

// hostKeyAttrs appends to attrs the attributes that name key, a HostKey,
// in the resilience layers' metrics and span events, as the semantic
// conventions name a server (and the trace layers do): server.address the
// host alone, an IPv6 literal without its brackets ("2001:db8::1" for
// "[2001:db8::1]:8443"), and server.port the port, when key names one:
// HostKey drops the scheme's default port, so a host on its scheme's
// default port has no server.port. The key itself, with its port, is not a
// server.address: a backend reads it as a host name, which matches no
// other telemetry of that server.
func hostKeyAttrs(key string, attrs []attribute.KeyValue) []attribute.KeyValue {
	host, port := key, ""
	if strings.HasPrefix(key, "[") {
		if j := strings.IndexByte(key, ']'); j > 0 {
			host = key[1:j]
			if rest := key[j+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
		}
	} else if i := strings.LastIndexByte(key, ':'); i >= 0 {
		host, port = key[:i], key[i+1:]
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}

// addHostEvent is AddEvent with the attributes of hostKeyAttrs(host)
// before attrs.
func addHostEvent(ctx context.Context, name, host string, attrs ...attribute.KeyValue) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	kvs := hostKeyAttrs(host, make([]attribute.KeyValue, 0, len(attrs)+2))
	span.AddEvent(name, trace.WithAttributes(append(kvs, attrs...)...))
}

// CallAttempts returns how many physical sends NewAttemptTrace has started
// so far within the call that ctx belongs to, or 0 when ctx does not belong
// to a call traced by NewCallTrace. An attempt stopped before the attempt
// span (by a breaker, a throttle) is not a send and is not counted.
func CallAttempts(ctx context.Context) int {
	if cs := callStateFrom(ctx); cs != nil {
		return int(cs.attempts.Load())
	}
	return 0
}

// Values of ErrorType for errors (for a response, error.type is its status
// code).
const (
	ErrorTypeCanceled         = "canceled"
	ErrorTypeTimeout          = "timeout"
	ErrorTypePinMismatch      = "pin_mismatch"
	ErrorTypeCertificate      = "tls_certificate"
	ErrorTypeTLS              = "tls"
	ErrorTypeCircuitOpen      = "circuit_open"
	ErrorTypeRateLimited      = "rate_limited"
	ErrorTypeEgressDenied     = "egress_denied"
	ErrorTypeRedirectDenied   = "redirect_denied"
	ErrorTypeNotReplayable    = "not_replayable"
	ErrorTypeInvalidRequest   = "invalid_request"
	ErrorTypeResponseTooLarge = "response_too_large"
	ErrorTypeClosed           = "closed"
	// ErrorTypeCredentialUnavailable: a credential layer could not get a
	// token or key (*AuthError), so the request was not sent.
	ErrorTypeCredentialUnavailable = "credential_unavailable"
	ErrorTypeDNS                   = "dns"
	ErrorTypeConnectionRefused     = "connection_refused"
	ErrorTypeConnectionReset       = "connection_reset"
	ErrorTypeConnectionClosed      = "connection_closed"
	ErrorTypeConnection            = "connection"
	ErrorTypeOther                 = "_OTHER"
)

// ErrorType classifies err into the low-cardinality value securecall uses
// for the OTel error.type attribute and the outcome of an attempt:
//
//   - the result of an ErrorType() string method of an error in the chain
//     (the convention of go.opentelemetry.io/otel/semconv), when not empty;
//   - "canceled" (context.Canceled), "timeout" (context.DeadlineExceeded or
//     a net.Error reporting Timeout);
//   - "pin_mismatch" (ErrPinMismatch), "tls_certificate" (any other
//     IsCertificateError), "tls" (another TLS failure);
//   - "circuit_open", "rate_limited", "egress_denied", "redirect_denied",
//     "not_replayable", "invalid_request" (ErrInvalidRequest: the caller's
//     malformed request, an HTTP/2 header refusal included),
//     "response_too_large", "closed" for this package's sentinels;
//   - "credential_unavailable" for an *AuthError (no token or key could be
//     had, so nothing was sent), unless the caller canceled meanwhile;
//   - "dns", "connection_refused", "connection_reset", "connection_closed"
//     (the peer closed the connection: EOF), "connection" (another network
//     error);
//   - "_OTHER" for anything else, and for nil.
//
// The layers of this package (trace, audit) also know the request's
// context: an error that is the cause its caller canceled it with
// (context.WithCancelCause, WithTimeoutCause), which net/http returns in
// place of context.Canceled, they report as "canceled" or "timeout".
func ErrorType(err error) string {
	if err == nil {
		return ErrorTypeOther
	}
	if et, ok := errors.AsType[interface {
		error
		ErrorType() string
	}](err); ok {
		if s := et.ErrorType(); s != "" {
			return s
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return ErrorTypeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTypeTimeout
	case errors.Is(err, ErrPinMismatch):
		return ErrorTypePinMismatch
	case IsCertificateError(err):
		return ErrorTypeCertificate
	case errors.Is(err, ErrCircuitOpen):
		return ErrorTypeCircuitOpen
	case errors.Is(err, ErrRateLimited):
		return ErrorTypeRateLimited
	case errors.Is(err, ErrEgressDenied):
		return ErrorTypeEgressDenied
	case errors.Is(err, ErrRedirectDenied):
		return ErrorTypeRedirectDenied
	case errors.Is(err, ErrNotReplayable):
		return ErrorTypeNotReplayable
	case errors.Is(err, ErrInvalidRequest):
		return ErrorTypeInvalidRequest
	case errors.Is(err, ErrResponseTooLarge):
		return ErrorTypeResponseTooLarge
	case errors.Is(err, ErrClosed):
		return ErrorTypeClosed
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return ErrorTypeTimeout
	}
	if isTLSError(err) {
		return ErrorTypeTLS
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return ErrorTypeDNS
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrorTypeConnectionRefused
	case errors.Is(err, syscall.ECONNRESET):
		return ErrorTypeConnectionReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrorTypeConnectionClosed
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return ErrorTypeConnection
	}
	return ErrorTypeOther
}

// errorTypeIn returns ErrorType(err) for the error of a request made with
// ctx. A caller that cancels with a cause (context.WithCancelCause,
// WithTimeoutCause, WithDeadlineCause) gets that cause back from net/http,
// which returns context.Cause(ctx): an error that matches neither
// context.Canceled nor context.DeadlineExceeded. When ctx has ended and err
// is its cause, err is classified as ctx.Err() would be: "canceled" or
// "timeout" instead of "_OTHER" (and "canceled" instead of
// "credential_unavailable" for a token fetch the caller canceled), unless
// the cause classifies as something else of its own.
func errorTypeIn(ctx context.Context, err error) string {
	et := ErrorType(err)
	if ctx == nil || (et != ErrorTypeOther && et != ErrorTypeCredentialUnavailable) {
		return et
	}
	cerr := ctx.Err()
	if cerr == nil {
		return et
	}
	cause := context.Cause(ctx)
	if cause == nil || cause == cerr || !errors.Is(err, cause) {
		return et
	}
	switch {
	case cerr == context.Canceled:
		return ErrorTypeCanceled
	case et == ErrorTypeOther: // a deadline: a credential failure stays one
		return ErrorTypeTimeout
	}
	return et
}

// isTLSError reports a TLS failure that is not about certificates: a
// handshake with a peer that does not speak TLS, an alert, an ECH refusal,
// another failure crypto/tls reported in the handshake of a new connection
// of a Base (*tlsHandshakeError).
func isTLSError(err error) bool {
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*tlsHandshakeError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*tls.ECHRejectionError](err); ok {
		return true
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && (oe.Op == "remote error" || oe.Op == "local error") {
		return true
	}
	return false
}
