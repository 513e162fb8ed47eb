package client

import (
	"github.com/securecall/securecall/transport"
)

// ConfigError is returned by New when an option is invalid. Option names the
// offending option (for example "WithPins"). It is the same type as
// transport.ConfigError, so errors.As works with either name.
type ConfigError = transport.ConfigError

// Errors a caller may test for with errors.Is. They are the transport
// package's sentinels, re-exported so that callers of client need not import
// transport.
var (
	ErrPinMismatch      = transport.ErrPinMismatch
	ErrInsecureTLS      = transport.ErrInsecureTLS
	ErrRedirectDenied   = transport.ErrRedirectDenied
	ErrEgressDenied     = transport.ErrEgressDenied
	ErrCircuitOpen      = transport.ErrCircuitOpen
	ErrRateLimited      = transport.ErrRateLimited
	ErrNotReplayable    = transport.ErrNotReplayable
	ErrResponseTooLarge = transport.ErrResponseTooLarge
	ErrClosed           = transport.ErrClosed
	ErrMediaTypeDenied  = transport.ErrMediaTypeDenied
	ErrSchemaViolation  = transport.ErrSchemaViolation
	ErrUnsafePath       = transport.ErrUnsafePath
)

// ErrInvalidRequest: the request's method, or a header or trailer field's
// name or value, is not valid HTTP. It is refused before the stack, so it is never
// sent, retried or counted against the host's circuit breaker; the error
// names the field, never its value. A connection-specific header that
// Go's HTTP/2 transport refuses (Connection, Upgrade, a Transfer-Encoding
// other than chunked) when the connection is HTTP/2 fails with it too,
// as does a header list larger than the HTTP/2 server's advertised
// SETTINGS_MAX_HEADER_LIST_SIZE, never retried nor counted. A URL host or
// Host that is an IPv6 literal with a non-ASCII zone, or any Host (URL.Host
// when Host is empty) that is no Host field value, is refused with it
// before the stack too. It is transport.ErrInvalidRequest.
var ErrInvalidRequest = transport.ErrInvalidRequest
