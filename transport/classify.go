package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// The response classifier. The retry layer, the circuit breaker and the
// throttle all judge an attempt through Classify, so they agree on what a
// failure is: the verdict feeds the breaker (server faults), the throttle
// (the server asked us to slow down) and the retry decision (may this be
// sent again?).

// Class is the verdict on one attempt.
type Class uint8

// Classes of attempt outcomes.
const (
	// ClassSuccess: a response the caller should see as it is (1xx-3xx,
	// and the 4xx and 5xx statuses that trying again cannot fix: 4xx other
	// than 408, 425 and 429, and 501).
	ClassSuccess Class = iota
	// ClassRetryableStatus: a response whose status says "try again":
	// 408, 425, 429, and 5xx other than 501.
	ClassRetryableStatus
	// ClassNeverSent: an error that proves the request never reached the
	// server (a dial failure: connection refused, no route, a temporary
	// DNS failure, a TLS handshake that timed out; a connection reset or
	// closed before a Base handed it to the request, in the TLS handshake
	// or a proxy's CONNECT; an HTTP/2 REFUSED_STREAM, or a GOAWAY whose
	// last-stream-id is below the request's stream (with a code that blames
	// the client, PROTOCOL_ERROR, COMPRESSION_ERROR, ENHANCE_YOUR_CALM...,
	// no breaker failure), other than one with INADEQUATE_SECURITY or
	// HTTP_1_1_REQUIRED (see ClassPermanent); a credential or signing key
	// that could not be had for a temporary reason; a client certificate key
	// whose signer failed the TLS handshake, or a Base's
	// TLSConfig.GetClientCertificate that failed to provide one, for a
	// reason it says is transient; a shared quota that could not be
	// consulted). Safe to send again, whatever the method.
	ClassNeverSent
	// ClassAmbiguous: an error after which the server may or may not have
	// processed the request (a reset, an EOF, a timeout once the request
	// was written, an error the classifier does not know). Sent again only
	// when the request is replayable (idempotent method or
	// Idempotency-Key).
	ClassAmbiguous
	// ClassPermanent: an error that trying again cannot fix, or must not
	// be retried: TLS, certificate and pin failures (a TLS alert, a peer
	// that does not speak TLS, or, seen by a Base, any other failure
	// crypto/tls reports in the handshake of a new connection, "tls:
	// server selected unsupported protocol version 301", but for its
	// refusal of a resumed session, which it drops), an egress or
	// redirect denial, an open circuit, a client-side rate limit, a
	// malformed request (ErrInvalidRequest, an HTTP/2 header refusal, a
	// body of another length than ContentLength), a
	// request that cannot be replayed, an oversized response, a closed
	// client, a non-existent host (DNS "no such host"), a credential the
	// token endpoint refused for good, a request that cannot be signed
	// (other than for a transient key failure), a client certificate key
	// whose signer failed the TLS handshake, or a Base's
	// TLSConfig.GetClientCertificate that failed (other than transiently), a
	// request the caller's own httptrace Got1xxResponse hook aborted
	// (*TraceHookError), an HTTP/2 GOAWAY that turned a connection's first
	// stream away with INADEQUATE_SECURITY (the connection's TLS
	// parameters).
	ClassPermanent
	// ClassCanceled: the caller's own context was cancelled or its
	// deadline passed. Never retried, never a breaker failure.
	ClassCanceled
)

var classNames = [...]string{"success", "retryable_status", "never_sent", "ambiguous", "permanent", "canceled"}

// String returns the class's name ("success", "retryable_status",
// "never_sent", "ambiguous", "permanent", "canceled").
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// BreakerOutcome is what an attempt means to the circuit breaker.
type BreakerOutcome uint8

// Breaker outcomes.
const (
	// BreakerSuccess: the server answered (any status below 500, and 501).
	BreakerSuccess BreakerOutcome = iota
	// BreakerFailure: a server fault: a connect error, a broken
	// connection, a timeout of the attempt (not the caller's), a 5xx other
	// than 501.
	BreakerFailure
	// BreakerExcluded: counts neither way: 429 (the throttle's business),
	// the caller's own cancellation, client-side refusals (throttle,
	// egress, credentials), certificate and TLS failures.
	BreakerExcluded
)

// Verdict is the classification of one attempt (see Classify).
type Verdict struct {
	// Class is the verdict for the retry decision.
	Class Class
	// Breaker is the verdict for the circuit breaker.
	Breaker BreakerOutcome
	// Status is the response's status code, 0 for an error.
	Status int
	// Throttled reports a server throttle signal: a 429, a 503 with
	// Retry-After, or a RateLimit item with r=0 (on any status).
	Throttled bool
	// Wait is the wait the server asked for (Retry-After, or the t of a
	// RateLimit item with r=0), or the token cache's backoff; HasWait says
	// whether there is one; Source is SourceRetryAfter, SourceRateLimit or
	// SourceTokenRefresh.
	Wait    time.Duration
	HasWait bool
	Source  WaitSource
}

// Classify judges one attempt: resp and err as returned by the next
// transport, ctx the context of the request the calling layer received
// (the caller's, or the attempt's inside a stack), now the time the
// answer arrived (for an HTTP-date Retry-After). Exactly one of resp and
// err is expected to be non-nil.
//
// Status rules: below 400 success; 408, 425, 429 and 5xx other than 501
// retryable; any other 4xx, and 501, success for the retry decision (the
// caller gets the response). The breaker sees 5xx other than 501 as
// failures, 429 as excluded, everything else below 600 as success.
//
// Error rules, in order: ctx done → ClassCanceled; a *TraceHookError (the
// caller's Got1xxResponse hook aborted the request) → ClassPermanent,
// BreakerExcluded; a certificate, pin or
// other TLS failure, ErrEgressDenied, ErrRedirectDenied, ErrCircuitOpen,
// ErrRateLimited, ErrNotReplayable, ErrResponseTooLarge, ErrClosed,
// ErrInvalidRequest, a body of another length than ContentLength (net/http's
// refusal, the caller's error, matched by its message), a
// failure to sign the request (nothing was sent) other than a transient key
// failure, a failure of the client certificate key's signer in the TLS
// handshake other than a transient one (crypto/tls's TLS 1.3 "tls: failed
// to sign handshake: ...", matched by that prefix, or, through the Base,
// the signer's own error), an error a Base's TLSConfig.GetClientCertificate
// returned other than a transient one, a DNS "no such host", an *AuthError that is not Temporary,
// an HTTP/2 stream reset with HTTP_1_1_REQUIRED, or that GOAWAY failure
// below with HTTP_1_1_REQUIRED (the server answers every HTTP/2 attempt
// so: breaker excluded), a *ProxyConnectError with a 4xx other than 408
// and 429 (a forward proxy's credentials or policy: breaker excluded), or
// that GOAWAY failure with INADEQUATE_SECURITY (the connection's TLS
// parameters, the same on every connection: breaker excluded) →
// ClassPermanent; a dial failure (*net.OpError with Op "dial", a
// *net.DNSError, ECONNREFUSED), net/http's "TLS handshake timeout" (no
// byte of the request written), a reset or EOF a Base saw before net/http
// handed the attempt a connection (no httptrace GotConn: in the TLS
// handshake of a new connection or a proxy's CONNECT; the same reset or
// EOF without that proof, from another base transport or once the
// connection was handed over, stays ClassAmbiguous), an HTTP/2
// REFUSED_STREAM, an HTTP/2
// GOAWAY whose last-stream-id is below the request's stream (the server
// did not process it) and that net/http did not retry itself, or whose
// resends a golang.org/x/net/http2 Transport as the base gave up ("http2:
// Transport received Server's graceful shutdown GOAWAY"; with a code
// that blames the client, BreakerExcluded: PROTOCOL_ERROR,
// FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, COMPRESSION_ERROR, a protocol
// error the server found in what the client sent, such as a header block
// over its limit sent before its SETTINGS arrived, or ENHANCE_YOUR_CALM,
// our load found excessive, as with a 429), a *ProxyConnectError with a 5xx (the proxy could not
// reach the host), 408 or 429 (those two BreakerExcluded), a Temporary
// *AuthError, a sign failure whose *signer.KeyError is Temporary
// (signer.ErrKeyUnavailable) or whose cause matches tokens.IsUnavailable,
// a client certificate key whose signer failed the handshake with an error
// that has a Temporary method returning true, matches
// context.DeadlineExceeded, signer.ErrKeyUnavailable or
// tokens.IsUnavailable (kept by a Base, which wraps such keys), a
// Base's TLSConfig.GetClientCertificate that failed with such an error,
// and the throttle's refusal when its shared quota (ThrottleConfig.Quota)
// failed with an error not matching ErrRateLimited →
// ClassNeverSent (a credential, key or quota failure: BreakerExcluded);
// anything else → ClassAmbiguous. Errors are recognised by type and value,
// never by message, except those GOAWAY failures, flat errors matched by
// their messages ("http2: Transport received GOAWAY from server ErrCode:"
// as a prefix, the graceful one whole), and the body length refusals.
// A Temporary *AuthError over a *tokens.RefreshError
// whose RetryAt is after now carries that wait (Source SourceTokenRefresh,
// not Throttled: it sets no host cooldown): the token cache makes no new
// token request before then, so a sooner attempt would fail the same way.
func Classify(ctx context.Context, resp *http.Response, err error, now time.Time) Verdict {
	if err != nil {
		return classifyError(ctx, err, now)
	}
	if resp == nil {
		return Verdict{Class: ClassAmbiguous, Breaker: BreakerFailure}
	}
	code := resp.StatusCode
	v := Verdict{Status: code}
	switch {
	case code == http.StatusTooManyRequests:
		v.Class, v.Breaker, v.Throttled = ClassRetryableStatus, BreakerExcluded, true
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly:
		v.Class = ClassRetryableStatus
	case code >= 500 && code != http.StatusNotImplemented && code < 600:
		v.Class, v.Breaker = ClassRetryableStatus, BreakerFailure
	}
	// Only throttle-shaped answers, and answers carrying a RateLimit
	// field, are worth parsing: the happy path costs two map lookups.
	if v.Class == ClassRetryableStatus || len(resp.Header["Ratelimit"]) > 0 {
		wait, src, exhausted, ok := ServerWait(resp, now)
		if ok {
			v.Wait, v.HasWait, v.Source = wait, true, src
		}
		if exhausted || (code == http.StatusServiceUnavailable && src == SourceRetryAfter) {
			v.Throttled = true
		}
	}
	return v
}

func classifyError(ctx context.Context, err error, now time.Time) Verdict {
	if ctx != nil && ctx.Err() != nil {
		return Verdict{Class: ClassCanceled, Breaker: BreakerExcluded}
	}
	if _, ok := errors.AsType[*TraceHookError](err); ok {
		// The caller's own httptrace hook stopped the request.
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if transientKeyError(err) {
		return Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
	}
	if _, ok := errors.AsType[*quotaError](err); ok && !errors.Is(err, ErrRateLimited) {
		// The shared quota could not be consulted: nothing was sent, and
		// the host is not at fault.
		return Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
	}
	if se, ok := errors.AsType[*handshakeSignError](err); ok {
		// The client certificate's key failed to sign the handshake,
		// or GetClientCertificate failed to provide one: nothing was
		// sent, and the server is not at fault.
		if se.temporary() {
			return Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
		}
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	switch {
	case IsCertificateError(err), isTLSError(err),
		errors.Is(err, ErrEgressDenied), errors.Is(err, ErrRedirectDenied),
		errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrRateLimited),
		errors.Is(err, ErrNotReplayable), errors.Is(err, ErrResponseTooLarge),
		errors.Is(err, ErrClosed), errors.Is(err, errSign),
		errors.Is(err, ErrInvalidRequest), innermost(err, isBodyLengthMsg),
		innermost(err, isSignFailed):
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if ae, ok := errors.AsType[*AuthError](err); ok {
		if ae.Temporary() {
			v := Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
			if re, ok := errors.AsType[*tokens.RefreshError](ae); ok && re.RetryAt.After(now) {
				// The token cache will not try again before RetryAt: an
				// attempt sooner would fail the same way, at once.
				v.Wait, v.HasWait, v.Source = re.RetryAt.Sub(now), true, SourceTokenRefresh
			}
			return v
		}
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if pe, ok := errors.AsType[*ProxyConnectError](err); ok {
		// Only the proxy answered: nothing reached the host.
		switch {
		case pe.StatusCode >= 500:
			// The proxy could not reach the host (502, 504), or is
			// failing (503).
			return Verdict{Class: ClassNeverSent, Breaker: BreakerFailure}
		case pe.StatusCode == http.StatusTooManyRequests || pe.StatusCode == http.StatusRequestTimeout:
			return Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
		}
		// The proxy's credentials (407) or policy (403): every attempt
		// is answered the same way, and the host did nothing wrong.
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if de, ok := errors.AsType[*net.DNSError](err); ok {
		if de.IsNotFound {
			return Verdict{Class: ClassPermanent, Breaker: BreakerFailure}
		}
		return Verdict{Class: ClassNeverSent, Breaker: BreakerFailure}
	}
	if se, ok := errors.AsType[h2StreamError](err); ok && se.Code == h2ErrCodeHTTP11Required ||
		innermost(err, isGoAwayHTTP11RequiredMsg) {
		// The server requires HTTP/1.1 for this request (a stream reset)
		// or connection (a GOAWAY before the first stream): every attempt
		// over HTTP/2 is answered the same way, deliberately.
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if innermost(err, isGoAwayInadequateSecurityMsg) {
		// The server refuses the TLS parameters of the connection, the
		// same on every new one: no fault of the host's either.
		return Verdict{Class: ClassPermanent, Breaker: BreakerExcluded}
	}
	if innermost(err, isGoAwayClientFaultMsg) {
		// The server closed a new connection, its first stream unprocessed,
		// for a protocol error it found in what we sent (a header block over
		// its limit, sent before its SETTINGS arrived) or for our load
		// (ENHANCE_YOUR_CALM): the host did nothing wrong. Safe to send
		// again: net/http charges the GOAWAY to the connection's first
		// stream, which may be another request than the one at fault
		// (several started before the server's SETTINGS).
		return Verdict{Class: ClassNeverSent, Breaker: BreakerExcluded}
	}
	if neverSent(err) {
		return Verdict{Class: ClassNeverSent, Breaker: BreakerFailure}
	}
	return Verdict{Class: ClassAmbiguous, Breaker: BreakerFailure}
}

// http2RefusedHeader returns the name of a connection-specific header of h
// that Go's HTTP/2 transport refuses, before sending anything, to put in a
// request (RFC 9113 §8.2.2; net/http's checkConnHeaders): Upgrade,
// Transfer-Encoding other than chunked, Connection other than close or
// keep-alive. It returns "" when h has none.
func http2RefusedHeader(h http.Header) string {
	if vv := h["Upgrade"]; len(vv) > 0 && vv[0] != "" && vv[0] != "chunked" {
		return "Upgrade"
	}
	if vv := h["Transfer-Encoding"]; len(vv) > 0 && (len(vv) > 1 || vv[0] != "" && vv[0] != "chunked") {
		return "Transfer-Encoding"
	}
	if vv := h["Connection"]; len(vv) > 0 && (len(vv) > 1 || vv[0] != "" && !strings.EqualFold(vv[0], "close") && !strings.EqualFold(vv[0], "keep-alive")) {
		return "Connection"
	}
	return ""
}

// invalidForHTTP2 returns err, the error of an attempt of req, as the
// caller's malformed request (matching ErrInvalidRequest) when it is Go's
// HTTP/2 transport refusing the request before sending anything, and err
// shows no network failure (no net.Error, errno, EOF or HTTP/2 stream
// error in its chain):
//
//   - a connection-specific header: req carries one (http2RefusedHeader)
//     and err's innermost error is that refusal ("invalid <field> request
//     header: ...", net/http's checkConnHeaders, a flat error);
//   - a header list larger than the server's SETTINGS_MAX_HEADER_LIST_SIZE
//     (RFC 9113 §6.5.2): err's innermost error is net/http's
//     "request header list larger than peer's advertised limit", and req
//     has no trailer (the same refusal of a trailer comes after the
//     headers and body were sent: the server may have acted on them);
//   - on any protocol, net/http's Transport refusing a malformed request
//     before it seeks a connection (isPreSendRefusalMsg): a URL scheme it
//     does not speak (`unsupported protocol scheme "htps"`), no host, an
//     invalid header field or method.
//
// Otherwise it returns err unchanged: the same fields are valid HTTP/1.1
// (an Upgrade handshake), and any other error of such a request (a
// proxy's refusal, a connection the server closed, a token endpoint that
// is down) is what it is. Without it the refusal would be an unknown
// error: retried (each attempt failing the same way, at once), and a
// failure against the host's breaker, so one malformed request could open
// it for every good call.
func invalidForHTTP2(req *http.Request, err error) error {
	if err == nil || req == nil || errors.Is(err, ErrInvalidRequest) {
		return err
	}
	name := http2RefusedHeader(req.Header)
	switch {
	case name != "" && http2HeaderRefusal(err, name):
	case len(req.Trailer) == 0 && innermost(err, isHeaderListSizeMsg):
		name = ""
	case innermost(err, isInvalidPathMsg):
		name = ":path"
	case innermost(err, isPreSendRefusalMsg):
		name = preSendRefusal
	default:
		return err
	}
	if networkError(err) {
		return err
	}
	return &invalidRequestError{field: name, err: err}
}

// preSendRefusal is the field of an invalidRequestError for net/http's
// refusal of a request before any connection is sought
// (isPreSendRefusalMsg).
const preSendRefusal = "net/http"

// isPreSendRefusalMsg reports whether s is the message of an error
// net/http's Transport returns for a malformed request before it looks for
// a connection, on any protocol (flat errors, recognised by their
// messages): a URL scheme it does not speak (`unsupported protocol scheme
// "htps"`, a caller's typo), no host in the URL, a nil URL or Header, an
// invalid header or trailer field name or value, an invalid method.
// Nothing was sent;
// every attempt would fail the same way.
func isPreSendRefusalMsg(s string) bool {
	switch s {
	case "http: nil Request.URL", "http: nil Request.Header", "http: no Host in request URL":
		return true
	}
	return strings.HasPrefix(s, `unsupported protocol scheme "`) ||
		strings.HasPrefix(s, "net/http: invalid header field name ") ||
		strings.HasPrefix(s, "net/http: invalid header field value for ") ||
		strings.HasPrefix(s, "net/http: invalid trailer field name ") ||
		strings.HasPrefix(s, "net/http: invalid trailer field value for ") ||
		strings.HasPrefix(s, "net/http: invalid method ")
}

// isInvalidPathMsg reports whether s is net/http's HTTP/2 refusal of a
// request target that is no valid :path (a hand-set absolute-form
// URL.Opaque with a query and no path): "invalid request :path %q", with
// " from URL.Opaque = %q" when Opaque made it.
func isInvalidPathMsg(s string) bool {
	return strings.HasPrefix(s, "invalid request :path ") || strings.HasPrefix(s, "http2: invalid request :path ")
}

// http2HeaderListSizeMsg is the message of net/http's (and x/net/http2's)
// refusal of a request whose header list exceeds the peer's advertised
// SETTINGS_MAX_HEADER_LIST_SIZE (an unexported error value, without the
// "http2: " prefix the transport's wrapping adds).
const http2HeaderListSizeMsg = "request header list larger than peer's advertised limit"

func isHeaderListSizeMsg(s string) bool {
	return s == http2HeaderListSizeMsg || s == "http2: "+http2HeaderListSizeMsg
}

// http2GoAwayUnprocessedPrefix begins the message of the error net/http's
// (and x/net/http2's) HTTP/2 transport fails a stream with when the
// server's GOAWAY carries an error code and a last-stream-id below the
// stream's (the first stream of a connection, which it does not retry
// itself): the server did not process the request (RFC 9113 §6.8). A
// flat fmt.Errorf, so it is recognised by its message.
const http2GoAwayUnprocessedPrefix = "http2: Transport received GOAWAY from server ErrCode:"

func isGoAwayUnprocessedMsg(s string) bool {
	return strings.HasPrefix(s, http2GoAwayUnprocessedPrefix)
}

// http2CannotRetryPrefix and http2CannotRetrySuffix enclose, in square
// brackets, the failure net/http's HTTP/2 transport reports when it would
// have retried a stream itself (a REFUSED_STREAM, a graceful GOAWAY above
// the stream, a PROTOCOL_ERROR from the peer) but the request's body has
// no GetBody to make again: a flat fmt.Errorf that keeps the failure's
// text only.
const (
	http2CannotRetryPrefix = "http2: Transport: cannot retry err ["
	http2CannotRetrySuffix = "] after Request.Body was written; define Request.GetBody to avoid this error"
	// http2GracefulGoAwayMsg is the stream's failure when the server's
	// GOAWAY (no error, or an error for a stream after the connection's
	// first) has a last-stream-id below it: the server did not process it.
	http2GracefulGoAwayMsg = "http2: Transport received Server's graceful shutdown GOAWAY"
)

// isCannotRetryUnprocessedMsg reports whether s is net/http's "cannot
// retry" error around a failure that proves the server did not process
// the stream: the graceful GOAWAY above it, or a REFUSED_STREAM ("stream
// error: stream ID 3; REFUSED_STREAM", from the peer or not; RFC 9113
// §8.7). A PROTOCOL_ERROR, which net/http also retries, says nothing of
// the kind and is not one.
func isCannotRetryUnprocessedMsg(s string) bool {
	inner, ok := strings.CutPrefix(s, http2CannotRetryPrefix)
	if !ok {
		return false
	}
	if inner, ok = strings.CutSuffix(inner, http2CannotRetrySuffix); !ok {
		return false
	}
	if inner == http2GracefulGoAwayMsg {
		return true
	}
	rest, ok := strings.CutPrefix(inner, "stream error: stream ID ")
	if !ok {
		return false
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return false
	}
	rest = rest[digits:]
	return rest == "; REFUSED_STREAM" || rest == "; REFUSED_STREAM; received from peer"
}

// isGracefulGoAwayMsg reports whether s is the failure an HTTP/2
// transport gives a stream above the last-stream-id of the server's
// GOAWAY (no error code, or a stream after the connection's first): the
// server did not process it. net/http's Transport resends such a stream
// without end; golang.org/x/net/http2's, a base of the caller's, up to
// seven times, then returns this error as it is.
func isGracefulGoAwayMsg(s string) bool { return s == http2GracefulGoAwayMsg }

// isGoAwayClientFaultMsg reports whether s is that error for a GOAWAY
// whose code blames the client (RFC 9113 §5.4.1, §7): a protocol error
// the server found in what it sent, PROTOCOL_ERROR, FLOW_CONTROL_ERROR,
// FRAME_SIZE_ERROR, COMPRESSION_ERROR (an HPACK block it could not or would
// not decode: one over its header list limit); or ENHANCE_YOUR_CALM, its
// load found excessive.
func isGoAwayClientFaultMsg(s string) bool {
	code, ok := strings.CutPrefix(s, http2GoAwayUnprocessedPrefix)
	if !ok {
		return false
	}
	switch code {
	case "PROTOCOL_ERROR", "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR", "COMPRESSION_ERROR", "ENHANCE_YOUR_CALM":
		return true
	}
	return false
}

// isGoAwayInadequateSecurityMsg reports whether s is that error for a
// GOAWAY with INADEQUATE_SECURITY: the server refuses the connection's TLS
// parameters.
func isGoAwayInadequateSecurityMsg(s string) bool {
	return s == http2GoAwayUnprocessedPrefix+"INADEQUATE_SECURITY"
}

// isGoAwayHTTP11RequiredMsg reports whether s is that error for a GOAWAY
// with HTTP_1_1_REQUIRED: the server refuses HTTP/2 on the connection.
func isGoAwayHTTP11RequiredMsg(s string) bool {
	return s == http2GoAwayUnprocessedPrefix+"HTTP_1_1_REQUIRED"
}

// isBodyLengthMsg reports whether s is net/http's refusal of a request
// body of another length than the request's ContentLength: HTTP/1.1's
// "http: ContentLength=%d with Body length %d" and HTTP/2's "http2: request
// body larger than specified content length" (flat errors, recognised by
// their messages). The caller's malformed request, failing the same way on
// every attempt: no fault of the host. Part of it may have been sent, so it
// is not ErrInvalidRequest (which says nothing was).
func isBodyLengthMsg(s string) bool {
	return strings.HasPrefix(s, "http: ContentLength=") && strings.Contains(s, " with Body length ") ||
		s == "http2: request body larger than specified content length"
}

// innermost reports whether the message of an innermost error of err's
// tree (one that wraps nothing) satisfies match.
func innermost(err error, match func(string) bool) bool {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			return innermost(e, match)
		}
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if e != nil && innermost(e, match) {
				return true
			}
		}
		return false
	}
	return match(err.Error())
}

// http2HeaderRefusal reports whether an innermost error of err's tree
// (one that wraps nothing) is net/http's refusal of the request header
// field name: "invalid " + name + " request header: ".
func http2HeaderRefusal(err error, name string) bool {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			return http2HeaderRefusal(e, name)
		}
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if e != nil && http2HeaderRefusal(e, name) {
				return true
			}
		}
		return false
	}
	msg := err.Error()
	prefix := "invalid " + name + " request header: "
	return strings.HasPrefix(msg, prefix) || strings.HasPrefix(msg, "http2: "+prefix)
}

// networkError reports an error whose chain shows a network or protocol
// failure: a net.Error, an errno, EOF, an HTTP/2 stream error.
func networkError(err error) bool {
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[syscall.Errno](err); ok {
		return true
	}
	var se h2StreamError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se)
}

// invalidRequestError is an HTTP/2 header refusal: it matches
// ErrInvalidRequest and unwraps to the transport's error. Its message
// names the field (field; "" for a header list over the server's limit),
// never its value: the transport's own message, which quotes the value,
// is left out of it (errors.Is and errors.As still reach that error).
type invalidRequestError struct {
	field string
	err   error
}

func (e *invalidRequestError) Error() string {
	switch e.field {
	case "":
		return "transport: invalid request: header list larger than the server's HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)"
	case ":path":
		return "transport: invalid request: the request target (URL.Opaque) is no valid HTTP/2 :path (RFC 9113 §8.3.1)"
	case preSendRefusal:
		return "transport: invalid request: " + safeRefusal(e.err.Error())
	}
	return "transport: invalid request: header field " + strconv.Quote(e.field) + " is not allowed in HTTP/2 (RFC 9113 §8.2.2)"
}

func (e *invalidRequestError) Unwrap() []error { return []error{ErrInvalidRequest, e.err} }

// invalidNameRefusals start net/http's refusals of an invalid header or
// trailer field name, which quote the whole key.
var invalidNameRefusals = [...]string{"net/http: invalid header field name ", "net/http: invalid trailer field name "}

// safeRefusal returns net/http's pre-send refusal message msg with an
// invalid field name it quotes shown as redact.FieldName shows it: a key
// that is a whole header line ("Authorization: Bearer <token>") carries a
// credential after its name.
func safeRefusal(msg string) string {
	i, refusal := -1, ""
	for _, r := range invalidNameRefusals {
		if i = strings.Index(msg, r); i >= 0 {
			refusal = r
			break
		}
	}
	if i < 0 {
		return msg
	}
	head, rest := msg[:i+len(refusal)], msg[i+len(refusal):]
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return head + "(not shown)"
	}
	name, err := strconv.Unquote(q)
	if err != nil {
		return head + "(not shown)"
	}
	return head + redact.FieldName(name) + rest[len(q):]
}

// transientKeyError reports a request the sign layer could not sign
// because its KeySource failed for a reason that may pass: a
// *signer.KeyError that is Temporary (signer.ErrKeyUnavailable) or whose
// cause is a secret store that is unavailable, locked or timed out
// (tokens.IsUnavailable). Nothing was sent, so it may be retried whatever
// the method, and the host did nothing wrong.
func transientKeyError(err error) bool {
	if !errors.Is(err, errSign) {
		return false
	}
	ke, ok := errors.AsType[*signer.KeyError](err)
	return ok && (ke.Temporary() || tokens.IsUnavailable(ke.Err))
}

// neverSent reports an error that proves the request was not processed:
// a failed dial anywhere in the chain (also below a proxy's
// "proxyconnect"), a refused connection, an HTTP/2 stream the server
// refused before processing it (REFUSED_STREAM), or one above the
// last-stream-id of the server's GOAWAY (RFC 9113 §6.8) that Go's HTTP/2
// transport did not retry itself, or whose resends it gave up (x/net/http2's
// Transport, after seven: "received Server's graceful shutdown GOAWAY");
// also either of the last two behind
// net/http's "cannot retry" error for a body without GetBody; a TLS
// handshake of a new connection that timed out; and a reset or EOF before
// the connection was handed to the request (*unsentResetError).
func neverSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var se h2StreamError
	if errors.As(err, &se) && se.Code == h2ErrCodeRefusedStream {
		return true
	}
	if _, ok := errors.AsType[*unsentResetError](err); ok {
		return true
	}
	return hasDialError(err) || innermost(err, isGoAwayUnprocessedMsg) || innermost(err, isCannotRetryUnprocessedMsg) ||
		innermost(err, isGracefulGoAwayMsg) || hasTLSHandshakeTimeout(err)
}

// unsentResetError is a connection reset or closed by the peer before
// net/http handed the connection to the request (a Base saw no GotConn
// for the attempt): in the TLS handshake of a new connection (an
// overloaded TLS terminator, a load balancer shedding new connections),
// or in a proxy's CONNECT or handshake. No byte of the request was
// written. Only a Base, which observes the attempt's connection, makes
// one: the same reset or EOF seen without that proof stays ambiguous.
type unsentResetError struct{ err error }

func (e *unsentResetError) Error() string {
	return "transport: connection lost before the request was sent: " + e.err.Error()
}

func (e *unsentResetError) Unwrap() error { return e.err }

// notSentReset returns err, the failure of an attempt that net/http never
// handed a connection, as an *unsentResetError when it is the peer
// resetting or closing the connection (ECONNRESET, ECONNABORTED, EPIPE,
// EOF); any other error (a TLS alert, a certificate, a timeout, the
// caller's cancellation) unchanged.
func notSentReset(err error) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) &&
		!errors.Is(err, syscall.ECONNABORTED) && !errors.Is(err, syscall.EPIPE) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isTLSError(err) {
		return err
	}
	return &unsentResetError{err: err}
}

// hasTLSHandshakeTimeout walks the error tree for net/http's
// tlsHandshakeTimeoutError ("net/http: TLS handshake timeout", an
// unexported struct type, matched by type: a server cannot make one):
// the TLS handshake of a new connection, with the server or a proxy, did
// not complete in time, so no byte of the request was written.
func hasTLSHandshakeTimeout(err error) bool {
	for err != nil {
		if t := reflect.TypeOf(err); t.PkgPath() == "net/http" && t.Name() == "tlsHandshakeTimeoutError" {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if hasTLSHandshakeTimeout(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// replicaFault reports a failure that is evidence about this process
// rather than the host it called, for the breaker's shared state
// (BreakerConfig.Store): nothing reached the host's address, and other
// processes, with their own resolvers, proxies and network stacks, may
// reach it. They are
//
//   - any *net.DNSError, "no such host" included: the answer of this
//     process's resolver (a sidecar, a node-local cache, its
//     /etc/resolv.conf and search list), which cannot be told from the
//     name's authoritative answer, and which sends nothing to the host;
//   - a failure to reach a proxy (net/http's *net.OpError with Op
//     "proxyconnect": the proxy's dial or TLS);
//   - a proxy's refusal of the CONNECT (a *ProxyConnectError; only a 5xx
//     is a breaker failure): a 503 is the proxy's own overload or
//     drain, a 502 or 504 its own path to the host, and a replica behind
//     another proxy, or none, may reach the host;
//   - an errno of the local stack: ENETUNREACH (no route to the host's
//     network), EADDRNOTAVAIL (no local address or port), EMFILE, ENFILE,
//     ENOBUFS, ENOMEM, EPERM and EACCES (a local firewall or policy).
//
// ECONNREFUSED, EHOSTUNREACH (an ARP or ICMP answer from the host's
// network), timeouts, resets, TLS alerts and 5xx are the host's.
func replicaFault(err error) bool {
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		switch errno {
		case syscall.ENETUNREACH, syscall.EADDRNOTAVAIL, syscall.EMFILE, syscall.ENFILE,
			syscall.ENOBUFS, syscall.ENOMEM, syscall.EPERM, syscall.EACCES:
			return true
		}
	}
	if _, ok := errors.AsType[*ProxyConnectError](err); ok {
		return true
	}
	return hasOpError(err, "proxyconnect")
}

// hasDialError walks the error tree for a *net.OpError whose Op is "dial".
func hasDialError(err error) bool { return hasOpError(err, "dial") }

// hasOpError walks the error tree for a *net.OpError whose Op is op.
func hasOpError(err error, op string) bool {
	for err != nil {
		if oe, ok := err.(*net.OpError); ok && oe.Op == op {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if hasOpError(e, op) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// h2StreamError mirrors the fields of an HTTP/2 stream error. net/http's
// bundled HTTP/2 StreamError converts itself (through its As method) into
// any struct type with the same field names and convertible types, so
// errors.As recognises it by structure without importing x/net/http2.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string { return "transport: http2 stream error" }

// h2ErrCodeRefusedStream is REFUSED_STREAM (RFC 9113 §7): the server
// refused the stream before any application processing.
const h2ErrCodeRefusedStream = 0x7

// h2ErrCodeHTTP11Required is HTTP_1_1_REQUIRED (RFC 9113 §7): the server
// requires HTTP/1.1 instead of HTTP/2 (for TLS renegotiation or
// connection-based authentication, say).
const h2ErrCodeHTTP11Required = 0xd

// plainSuccess reports a response that needs no classification: a status
// below 400 without a RateLimit field (so no throttle signal either).
func plainSuccess(resp *http.Response) bool {
	return resp != nil && resp.StatusCode < 400 && resp.StatusCode >= 100 && len(resp.Header["Ratelimit"]) == 0
}

// idempotentMethod reports the methods RFC 9110 §9.2.2 defines as
// idempotent, and QUERY (RFC 10008: safe and idempotent, a GET with
// content).
func idempotentMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete, "QUERY":
		return true
	}
	return false
}

// hasIdempotencyKey reports an Idempotency-Key (or X-Idempotency-Key)
// header, the rule net/http also uses for its own transparent resends,
// under any spelling of the key (net/http sends them all; its own rule
// looks at the canonical one only).
func hasIdempotencyKey(h http.Header) bool {
	return hasField(h, "Idempotency-Key") || hasField(h, "X-Idempotency-Key")
}

// hasField reports whether h has the field key (canonical) under any
// spelling: net/http sends a key set as req.Header["idempotency-key"]
// too, so it counts as the caller's.
func hasField(h http.Header, key string) bool {
	if _, ok := h[key]; ok {
		return true
	}
	for k := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// bodyReplayable reports whether req's body can be sent again: no body,
// or a GetBody to make a fresh copy.
func bodyReplayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// invalidHostKey is HostKey's answer for a host longer than a DNS name
// (maxHostLen) or a port longer than five digits (without its leading
// zeros).
const invalidHostKey = "_invalid"

// HostKey returns the key under which the per-host state of the
// resilience layers (retry budget, cooldown, breaker, throttle) is kept for
// u: its host and port in lower case, without the scheme's default port
// and without one trailing dot ("api.example.com" for
// https://API.example.com.:443/x), so a fully qualified name shares the
// state of the same name written without its dot, as the egress allowlist,
// Origin and pinning treat them as one host; an internationalised name in
// its ASCII form ("xn--bcher-kva.example" for "BÜCHER.example"), as
// net/http sends it; an IPv6 literal in its canonical form ("[::1]" for
// "[0:0:0:0:0:0:0:1]" and "[0::1]", "[fe80::1]" for "[FE80::1]"), a zone
// kept as written ("[fe80::1%eth0]" from "%25eth0" in the URL,
// "[fe80::1%ETH0]" from "%25ETH0": a zone names an interface, interface
// names are case-sensitive, and the address on another link is another
// host, as for OriginOf), and an IPv4-mapped one as
// its IPv4 address ("127.0.0.1" for "[::ffff:7f00:1]"), which Go's dialer
// connects over IPv4: one address, however written, is one host (the
// egress allowlist compares IPv6 literals as addresses too); an IPv4
// address written in a legacy form ("127.1", "2130706433", "0x7f.0.0.1",
// "0177.0.0.1") in dotted-decimal form, "127.0.0.1": a cgo (getaddrinfo)
// resolver and a proxy dial it so, and the SafeDialer checks a proxied one
// as that address (Go's own resolver looks it up as a name, finds none,
// and nothing is sent). Userinfo
// that a URL built by hand put in Host ("user:pass@api.example.com",
// which url.Parse puts in User) is no part of the key: the key is a span and metric attribute, an error's Host and
// a shared store's key, where a credential must not go. A host longer than
// a DNS name (253 bytes) or a port of more than five digits (leading zeros
// aside: net/http dials "api.example.com:0443" on port 443, and its key is
// "api.example.com" for https), which url.Parse takes and nothing can
// dial, has the key "_invalid", so that a caller's
// URLs (webhooks) cannot make the per-host state hold long strings. In the common
// case (a lower-case ASCII host or an IP literal in its canonical form,
// a zone in any case, with a default or no port) it does not allocate.
func HostKey(u *url.URL) string {
	if u == nil {
		return ""
	}
	hostport := u.Host
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	h, port := hostport, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i:], ']') < 0 {
		h, port = h[:i], h[i+1:]
	}
	rawPort := port
	for len(port) > 1 && port[0] == '0' {
		port = port[1:] // "0443" is dialed as 443
	}
	name, ok := ipLiteralKey(h)
	if !ok {
		name, _ = originHost(h) // the host as an Origin holds it
		name = ipv4Key(name)
	}
	if len(name) > maxHostLen || len(port) > maxPortLen {
		// No DNS name or port is that long: the URL cannot be dialed, and
		// the key is kept per host (MaxHosts of them in each layer), in
		// metric series and in shared stores. url.Parse bounds neither.
		return invalidHostKey
	}
	if port == "" || (port == "443" && strings.EqualFold(u.Scheme, "https")) || (port == "80" && strings.EqualFold(u.Scheme, "http")) {
		return name
	}
	if name == h && port == rawPort {
		return hostport // unchanged: no allocation
	}
	return name + ":" + port
}

// hostKeyCache holds HostKey's answers by a URL's Host as written, for
// the http and https schemes (as url.Parse gives them), so that a layer
// works a host's key out once, not once a request (~560 instructions for
// "api.example.com"; a lookup is a few compares). A Host with userinfo in
// it is never kept (the key drops it; the cache must not hold it), nor one
// longer than a DNS name and a port; past maxCacheEntries hosts the others
// are worked out per request.
type hostKeyCache struct {
	http, https optCache[string, string]
}

// of returns HostKey(u).
func (c *hostKeyCache) of(u *url.URL) string {
	if u == nil {
		return HostKey(u)
	}
	var oc *optCache[string, string]
	switch u.Scheme {
	case "https":
		oc = &c.https
	case "http":
		oc = &c.http
	default:
		return HostKey(u)
	}
	if k, ok := oc.load(u.Host); ok {
		return k
	}
	if m := oc.m.Load(); (m != nil && len(*m) >= maxCacheEntries) || len(u.Host) > maxHostLen+1+maxPortLen+2 || strings.IndexByte(u.Host, '@') >= 0 {
		return HostKey(u)
	}
	// Copies: u.Host, and a key that is a piece of it, are often pieces
	// of the whole URL, query included.
	host := strings.Clone(u.Host)
	k := HostKey(&url.URL{Scheme: u.Scheme, Host: host})
	oc.store(host, k)
	return k
}

// ipLiteralKey returns the key of the IPv6 literal h ("[...]", as in
// URL.Host): the address in its canonical form (RFC 5952: lower-case
// hex, zeros shortened, "[0:0::1]" is "[::1]") with its zone as written
// (an interface name, case-sensitive), or, for an IPv4-mapped address,
// the IPv4 address without brackets ("[::ffff:7f00:1]" is "127.0.0.1":
// Go's dialer connects it over IPv4). ok is false when h is no IPv6
// literal. A canonical h is returned as it is, without allocating.
func ipLiteralKey(h string) (key string, ok bool) {
	if len(h) < 2 || h[0] != '[' || h[len(h)-1] != ']' {
		return "", false
	}
	a, err := netip.ParseAddr(h[1 : len(h)-1])
	if err != nil || !a.Is6() {
		return "", false
	}
	var buf [64]byte
	b := buf[:0]
	if a.Is4In6() {
		b = a.Unmap().AppendTo(b)
	} else {
		b = append(a.AppendTo(append(b, '[')), ']')
	}
	if string(b) == h {
		return h, true
	}
	return string(b), true
}

// ipv4Key returns name (a host as originHost returns it) in dotted-decimal
// form when it spells an IPv4 address in one of the legacy forms hostAddr
// reads ("127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1"), else name
// itself, without allocating.
func ipv4Key(name string) string {
	if name == "" || name[len(name)-1] == '.' || !isNumberPart(name[strings.LastIndexByte(name, '.')+1:]) {
		return name // a name, or one with two trailing dots: another host
	}
	a, ok, _ := hostAddr(name)
	if !ok || !a.Is4() {
		return name
	}
	var buf [16]byte
	if b := a.AppendTo(buf[:0]); string(b) != name {
		return string(b)
	}
	return name
}

// lowerASCII lower-cases s, returning s itself when it has no upper-case
// ASCII letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
