package transport

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/securecall/securecall/internal/configerr"
)

// Sentinel errors for states a caller branches on. Test for them with
// errors.Is; the error actually returned usually wraps one of them in a
// struct that carries the details (host, pins seen, option name...).
var (
	// ErrPinMismatch: the server's verified chain matched none of the pins
	// configured for its host. Never retried.
	ErrPinMismatch = errors.New("transport: certificate pin mismatch")
	// ErrInsecureTLS: a configuration asked for something that would
	// disable or weaken TLS verification or privacy (InsecureSkipVerify,
	// TLS < 1.2, an insecure cipher suite, a KeyLogWriter).
	ErrInsecureTLS = errors.New("transport: insecure tls configuration refused")
	// ErrRedirectDenied: a redirect hop left the allowed origins, downgraded
	// https to http, led to a scheme other than http and https, carried
	// userinfo in its Location, or would have replayed a body to another
	// origin.
	ErrRedirectDenied = errors.New("transport: redirect denied")
	// ErrEgressDenied: the destination is not on the egress allowlist.
	ErrEgressDenied = errors.New("transport: egress denied")
	// ErrCircuitOpen: the per-host circuit breaker is open; the request was
	// not sent.
	ErrCircuitOpen = errors.New("transport: circuit open")
	// ErrRateLimited: the client-side throttle or a server-requested
	// cooldown refused the request.
	ErrRateLimited = errors.New("transport: rate limited")
	// ErrNotReplayable: the request would have to be sent again but its body
	// cannot be replayed (no GetBody) or its method is not idempotent.
	ErrNotReplayable = errors.New("transport: request not replayable")
	// ErrInvalidRequest: the request is malformed: its method, or a header
	// or trailer field, is not valid HTTP, or it carries a
	// connection-specific header (Connection, Upgrade, a Transfer-Encoding
	// other than chunked) that HTTP/2 forbids and Go's HTTP/2 transport
	// refuses before sending anything (RFC 9113 §8.2.2), or a header list
	// larger than the server's HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE, which
	// that transport refuses too (RFC 9113 §6.5.2), or a URL net/http
	// refuses before it seeks a connection (a scheme it does not speak,
	// `unsupported protocol scheme "htps"`, or no host), its error wrapped.
	// It is the caller's error: never retried, never counted against the
	// host's breaker.
	ErrInvalidRequest = errors.New("transport: invalid request")
	// ErrResponseTooLarge: the response exceeded a configured size limit.
	ErrResponseTooLarge = errors.New("transport: response too large")
	// ErrMediaTypeDenied: the response's media type (Content-Type) is not
	// on the configured allowlist.
	ErrMediaTypeDenied = errors.New("transport: response media type denied")
	// ErrSchemaViolation: a request or response does not match the OpenAPI
	// description it is validated against.
	ErrSchemaViolation = errors.New("transport: schema violation")
	// ErrUnsafePath: a URL template, or a value for it, would produce a
	// path whose shape differs from the template's (dot segments, empty
	// segments, slashes, control characters).
	ErrUnsafePath = errors.New("transport: unsafe url path")
	// ErrClosed: the client or transport was closed.
	ErrClosed = errors.New("transport: closed")
	// ErrCertificateNotYetValid: a rotation put a client certificate on
	// disk whose NotBefore is still ahead while the certificate in use is
	// valid. It is what the certificate reload hook gets: the renewal is
	// held back, not refused, and installed by the first check at or after
	// its NotBefore; the certificate in use is presented until then.
	// ClientCertificate.Update returns it for such a certificate, which it
	// refuses (call Update again at or after its NotBefore).
	ErrCertificateNotYetValid = errors.New("transport: client certificate not yet valid")
	// ErrInsecureCertificateFile: a file-based client certificate's key
	// file may be read or written by group or others, its certificate
	// file written by them, a directory that decides what either path
	// reaches is writable by them, or one of these belongs to another
	// user (see NewClientCertificateFromFiles). An *InsecureFileError
	// carries the details; no call fails with it.
	ErrInsecureCertificateFile = errors.New("transport: client certificate file has insecure permissions")
)

// InsecureFileError reports a client certificate or key file refused for
// its permissions or owner, or for those of a directory on its path (see
// NewClientCertificateFromFiles). It names the path at fault, never its
// content, and matches ErrInsecureCertificateFile.
type InsecureFileError struct {
	// File is the certificate or key file refused, as it was named.
	File string
	// Path is what is at fault: File itself, or a directory on its way.
	Path string
	// Reason says what is wrong with it ("file mode 0644 allows access by
	// group or others", "owned by uid 1001, not by uid 1000 or root").
	Reason string
}

func (e *InsecureFileError) Error() string {
	if e.Path == e.File {
		return "transport: insecure client certificate file " + e.File + ": " + e.Reason
	}
	return "transport: insecure client certificate file " + e.File + ": directory " + e.Path + ": " + e.Reason
}

// Unwrap returns ErrInsecureCertificateFile.
func (e *InsecureFileError) Unwrap() error { return ErrInsecureCertificateFile }

// ConfigError reports invalid configuration. Option names the offending
// option or field (for example "WithPins" or "TLSConfig.InsecureSkipVerify");
// Err, when set, is the underlying cause and is reachable with errors.Is/As.
// signer.ConfigError, tokens.ConfigError and client.ConfigError are the same
// type.
//
// Constructors return a *ConfigError instead of panicking on bad input.
type ConfigError = configerr.Error

// configErrorf builds a *ConfigError for option with a formatted reason.
func configErrorf(option string, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...), Err: err}
}

func init() { configerr.RegisterZeroCheck(zeroReason) }

// zeroReason returns why v, a value of one of this package's types that
// was not made by its constructor (a zero value such as new(Base)), cannot
// be used, and "" when it can. The layers and client options that accept
// a RoundTripper, a Scope, a CooldownStore or a tokens.Source refuse such
// a value with a *ConfigError.
func zeroReason(v any) string {
	var ctor string
	switch v := v.(type) {
	case *Base:
		if v != nil && v.t.Load() == nil {
			ctor = "Base: not made by NewBase"
		}
	case *SafeDialer:
		if v != nil && v.guard == nil {
			ctor = "SafeDialer: not made by NewSafeDialer"
		}
	case *Cooldowns:
		if v != nil && v.clk.Now == nil {
			ctor = "Cooldowns: not made by NewCooldowns"
		}
	case *EgressPolicy:
		if v != nil && v.exact == nil {
			ctor = "EgressPolicy: not made by NewEgressPolicy"
		}
	case *Inventory:
		if v != nil && (v.now == nil || v.entries.Load() == nil) {
			ctor = "Inventory: not made by NewInventory"
		}
	}
	if ctor == "" {
		return ""
	}
	return "a zero transport." + ctor
}

// typedNil returns a *ConfigError naming field when v, an interface value
// that is not nil, holds a nil pointer (a *sdkmetric.MeterProvider or
// *Cooldowns variable never assigned): it is no nil interface, so the
// default a nil one gets does not apply, and its first use panics.
func typedNil(field string, v any) error {
	if v != nil && configerr.IsNil(v) {
		return configErrorf(field, nil, "is a nil %T", v)
	}
	return nil
}

// zeroErr returns the *ConfigError the methods of v, a zero value, return
// instead of panicking or (a SafeDialer) failing open.
func zeroErr(v any) error {
	return &ConfigError{Option: strings.TrimPrefix(fmt.Sprintf("%T", v), "*transport."), Reason: zeroReason(v)}
}

// TraceHookError reports a request that the caller's own
// httptrace.ClientTrace Got1xxResponse hook aborted by returning Hook
// (net/http's way to stop at an informational response such as a 103
// Early Hints): the caller's decision, as a cancellation is. The retry
// layer never sends such a request again and the breaker does not count
// it against the host. errors.Is matches Hook over HTTP/2 too, where
// net/http's stream error (Err) does not unwrap to it.
type TraceHookError struct {
	// Hook is the error the caller's hook returned.
	Hook error
	// Err is net/http's error for the aborted request.
	Err error
}

func (e *TraceHookError) Error() string { return e.Err.Error() }

// Unwrap returns Hook and Err.
func (e *TraceHookError) Unwrap() []error { return []error{e.Hook, e.Err} }

// RewriteErrors returns a copy of e whose Err is rewrite(e.Err), so that
// error redaction keeps the *TraceHookError reachable.
func (e *TraceHookError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err = rewrite(e.Err)
	return &c
}

// ProxyConnectError reports a forward proxy that refused the CONNECT
// tunnel for an https request (any status but 200): nothing of the
// request reached the host. StatusCode is the proxy's status. Its message
// names the status and its standard text, never the proxy's own reason
// phrase, its address or its credentials. A 4xx (407: the proxy's
// credentials; 403: its policy) is permanent and no fault of the host (not
// retried, excluded from the breaker); a 5xx (502, 504: the proxy could
// not reach the host; 503: the proxy itself is failing) is never sent,
// retried whatever the method, and a breaker failure of this process
// only: with a shared BreakerConfig.Store it opens no circuit in the fleet
// (the proxy's answer is about this process's path to the host).
type ProxyConnectError struct {
	StatusCode int
}

func (e *ProxyConnectError) Error() string {
	if t := http.StatusText(e.StatusCode); t != "" {
		return "transport: the proxy refused the CONNECT tunnel: " + strconv.Itoa(e.StatusCode) + " " + t
	}
	return "transport: the proxy refused the CONNECT tunnel: status " + strconv.Itoa(e.StatusCode)
}
