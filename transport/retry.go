package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/stackhook"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"golang.org/x/net/http/httpguts"
)

// Retry defaults (RetryConfig zero values).
const (
	// DefaultRetryMaxAttempts: three attempts in all (two retries).
	DefaultRetryMaxAttempts = 3
	// DefaultRetryBaseDelay: the first retry waits up to this long.
	DefaultRetryBaseDelay = 200 * time.Millisecond
	// DefaultRetryMaxDelay caps one backoff wait.
	DefaultRetryMaxDelay = 5 * time.Second
	// DefaultMaxRetryAfter caps a wait the server asks for (Retry-After,
	// RateLimit). A call told to wait longer gives up and returns the
	// server's answer; the host's cooldown is capped at this too.
	DefaultMaxRetryAfter = 30 * time.Second
	// DefaultServerWaitJitter: a wait the server asked for is stretched by
	// a random 0-20%, so a fleet told "come back at T" does not come back
	// all at once.
	DefaultServerWaitJitter = 0.2
	// DefaultMinAttemptTime: a retry is not started when less than this
	// would be left before the deadline once its wait is over.
	DefaultMinAttemptTime = 50 * time.Millisecond
	// DefaultMaxDrain: at most this much of a discarded response body is
	// read (so its connection can be reused) before it is closed.
	DefaultMaxDrain = 64 << 10
	// DrainTimeout bounds in time the drain of a response body the stack
	// discards (a retried attempt's, one the limits layer refuses, a 401
	// the auth layer replays): past it, or past MaxDrain bytes, the body
	// is closed, and with it its connection (HTTP/1.1; an HTTP/2 stream
	// is reset), instead of waiting on a server that trickles or stalls
	// it, as OkHttp bounds its own discard (100 ms). A drain within it
	// keeps the connection for reuse.
	DrainTimeout = 100 * time.Millisecond
	// DefaultIdempotencyHeader is the header RetryConfig.IdempotencyKeys
	// sets (draft-ietf-httpapi-idempotency-key-header).
	DefaultIdempotencyHeader = "Idempotency-Key"
)

// Names of the retry layer's instruments and span-event attributes.
const (
	// MetricRetries counts retries scheduled (unit "{retry}"). Attributes:
	// server.address, RetrySourceKey. Here, as in every metric and span
	// event of the retry, breaker and throttle layers, server.address is
	// the host of the request's HostKey alone (an IPv6 literal without
	// its brackets), and server.port its port when that is not the
	// scheme's default (which HostKey drops), as the semantic conventions
	// and the trace layers name a server.
	MetricRetries = "securecall.client.retries"
	// MetricRetryStops counts calls on which the retry layer wanted to
	// retry but stopped (unit "{call}"). Attributes: server.address,
	// RetryStopKey (attempts, budget, deadline, not_replayable, not_sent,
	// request_body for a retry whose GetBody failed, retry_after_cap).
	MetricRetryStops = "securecall.client.retry.stops"

	// RetryAttemptKey: the number (0-based) of the attempt about to be
	// made.
	RetryAttemptKey = attribute.Key("securecall.retry.attempt")
	// RetryDelayKey: the wait before it, in seconds.
	RetryDelayKey = attribute.Key("securecall.retry.delay")
	// RetryReasonKey: why the last attempt failed (its status code, or
	// ErrorType of its error).
	RetryReasonKey = attribute.Key("securecall.retry.reason")
	// RetrySourceKey: where the wait came from (a WaitSource).
	RetrySourceKey = attribute.Key("securecall.retry.source")
	// RetryStopKey: why the layer stopped retrying (a StopReason).
	RetryStopKey = attribute.Key("securecall.retry.stop")
)

// RetryConfig configures the retry layer (NewRetry). The zero value is
// usable: 3 attempts, full-jitter exponential backoff from 200 ms capped at
// 5 s, server waits capped at 30 s, the per-host retry budget on.
type RetryConfig struct {
	// MaxAttempts is the number of attempts per call, the first included.
	// Zero: DefaultRetryMaxAttempts; 1 sends each call once (the layer
	// still makes the per-attempt clone and honours cooldowns).
	MaxAttempts int
	// BaseDelay and MaxDelay are the min and max handed to Backoff.
	// Zero: DefaultRetryBaseDelay, DefaultRetryMaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Backoff computes the wait before retry number attemptNum (0 for the
	// first retry), go-retryablehttp's type, so its functions plug in
	// (retryablehttp.LinearJitterBackoff, ...). nil: FullJitterBackoff.
	// A server-requested wait is applied on top by the layer itself: the
	// actual wait is the larger of the two. A Backoff result is clamped to
	// [0, MaxRetryAfter], so one that returns the server's Retry-After
	// uncapped (retryablehttp.DefaultBackoff) cannot stall a call.
	Backoff retryablehttp.Backoff
	// CheckRetry, when set, decides whether an attempt's outcome is worth
	// retrying, go-retryablehttp's type (retryablehttp.DefaultRetryPolicy
	// plugs in). It only narrows or widens which outcomes are retried: the
	// safety rules always apply (never the caller's cancellation, TLS,
	// certificate or pin failures, egress denials; only replayable
	// requests unless the request was never sent; MaxAttempts, the budget
	// and the deadline). If it returns an error and no retry, the call
	// fails with that error (StopCheckRetry). If it returns an error with
	// a retry (retryablehttp.DefaultRetryPolicy does for a 5xx), the error
	// is kept, as go-retryablehttp does: should the layer then stop
	// (attempts, budget, deadline, not replayable, the server's wait above
	// MaxRetryAfter), the call fails with a *RetryError wrapping it (and
	// the attempt's own error), the last response drained and closed,
	// instead of returning that response. nil: Classify's verdict
	// (retryable statuses, never-sent and ambiguous errors). A CheckRetry,
	// Backoff or NewIdempotencyKey that panics has the response in hand
	// (or the request's body) closed, and its panic goes on to the caller.
	CheckRetry retryablehttp.CheckRetry
	// MaxRetryAfter caps a wait the server asks for. A call told to wait
	// longer stops and returns the server's response; the host cooldown
	// it sets is capped at MaxRetryAfter. Zero: DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// ServerWaitJitter stretches every server-requested or cooldown wait
	// by a random fraction in [0, ServerWaitJitter), cut down to what fits
	// before the deadline (the wait itself is never shortened). Zero:
	// DefaultServerWaitJitter; negative: none.
	ServerWaitJitter float64
	// MinAttemptTime: a retry (or a cooldown wait before any attempt) is
	// not started when less than this would be left before the deadline
	// once its wait is over; the call fails with a *DeadlineError instead.
	// Zero: DefaultMinAttemptTime; negative: none.
	MinAttemptTime time.Duration
	// Budget is the per-host retry budget, on by default.
	Budget BudgetConfig
	// Cooldowns holds the per-host cooldowns (Retry-After, RateLimit r=0)
	// every call to a host honours before each attempt. nil: a private
	// in-memory store. Share one between clients, or use a fleet-wide one.
	// A store whose read before a call's first attempt panics (a bug in
	// it) has the request's body closed, one whose write panics the
	// response in hand, and its panic goes on.
	Cooldowns CooldownStore
	// IdempotencyKeys makes the layer give every call with a
	// non-idempotent method (POST, PATCH, ...) and no key of its own (in
	// Idempotency-Key, X-Idempotency-Key or IdempotencyHeader, under any
	// spelling of the name, as net/http sends them all) a new key,
	// generated once per call and identical on every attempt, which makes
	// such calls retryable; a caller's own key is kept and makes the call
	// retryable too. The caller's request is never modified: the key is
	// set on each attempt's clone.
	IdempotencyKeys bool
	// IdempotencyHeader is the header of the generated key. Zero:
	// DefaultIdempotencyHeader.
	IdempotencyHeader string
	// NewIdempotencyKey generates a key. nil: a random UUID (version 4)
	// from crypto/rand, sent bare. A key that is empty or not a valid
	// field value fails the call before it is sent (*RetryError,
	// StopBody), as a generator error does.
	NewIdempotencyKey func() (string, error)
	// MaxHosts bounds the per-host state (budget, cooldown). Zero:
	// DefaultMaxHosts. Past it, the least recently used hosts are
	// forgotten, those with a cooldown in force or retries counted in
	// their budget's window last (each counted in MetricHostsForgotten).
	MaxHosts int
	// MaxDrain is how much of a discarded response body is read before
	// it is closed. Zero: DefaultMaxDrain; negative: none. A body whose
	// declared length (Content-Length) is above MaxDrain is closed unread,
	// as net/http does past its own limit: its connection cannot be
	// reused whatever is read. The drain is bounded in time by
	// DrainTimeout (and the attempt's context): a body still being read
	// then, from a server that trickles or stalls it, is closed, with its
	// connection.
	MaxDrain int64
	// MeterProvider creates the layer's instruments (MetricRetries,
	// MetricRetryStops, MetricHostsForgotten). nil: otel.GetMeterProvider().
	// One whose instruments panic (a bug in it) has the body in hand (the
	// request's, the last response's) closed and a retry's budget charge
	// refunded, and its panic goes on.
	MeterProvider metric.MeterProvider
	// SharedClock lets the per-attempt layers below share one clock
	// reading per attempt (the retry layer's) instead of each reading the
	// clock: the breaker, the throttle, the attempt timeout and the sign
	// layer's created. This package's layers renew it after anything that
	// may block (a throttle wait, a token that was not cached, a shared
	// store's read, the auth layer's replay). Set it only when every
	// per-attempt layer below is this package's, as client.New does: a
	// layer of yours that blocks would leave the reading stale, and the
	// attempt timeout and created would count from before its wait.
	// With SharedClock, the first reading of a call is the call's start
	// (NewCallTrace's) while the request is still the call's own copy:
	// only this package's call-level layers, which never block, ran since
	// (a WithCallLayer stack's NewCallLayerBoundary ends that, and the
	// layer then reads the clock).
	SharedClock bool
}

func (c RetryConfig) resolve() (RetryConfig, error) {
	if err := configerr.Unconstructed("RetryConfig.Cooldowns", c.Cooldowns); err != nil {
		return c, err
	}
	if err := typedNil("RetryConfig.Cooldowns", c.Cooldowns); err != nil {
		return c, err
	}
	if err := typedNil("RetryConfig.MeterProvider", c.MeterProvider); err != nil {
		return c, err
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultRetryMaxAttempts
	}
	if c.MaxAttempts < 1 {
		return c, configErrorf("RetryConfig.MaxAttempts", nil, "must be at least 1, got %d", c.MaxAttempts)
	}
	if c.BaseDelay == 0 {
		c.BaseDelay = DefaultRetryBaseDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = max(DefaultRetryMaxDelay, c.BaseDelay)
	}
	if c.BaseDelay < 0 {
		return c, configErrorf("RetryConfig.BaseDelay", nil, "must not be negative, got %v", c.BaseDelay)
	}
	if c.MaxDelay < c.BaseDelay {
		return c, configErrorf("RetryConfig.MaxDelay", nil, "must be at least BaseDelay (%v), got %v", c.BaseDelay, c.MaxDelay)
	}
	if c.Backoff == nil {
		c.Backoff = FullJitterBackoff
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.MaxRetryAfter < 0 {
		return c, configErrorf("RetryConfig.MaxRetryAfter", nil, "must not be negative, got %v", c.MaxRetryAfter)
	}
	// Negative values meaning "none" stay negative, so that resolving a
	// resolved config (ResilienceConfig.Resolve, then NewRetry) keeps them.
	switch {
	case c.ServerWaitJitter == 0:
		c.ServerWaitJitter = DefaultServerWaitJitter
	case c.ServerWaitJitter > 1 || math.IsNaN(c.ServerWaitJitter):
		return c, configErrorf("RetryConfig.ServerWaitJitter", nil, "must be at most 1, got %v", c.ServerWaitJitter)
	}
	if c.MinAttemptTime == 0 {
		c.MinAttemptTime = DefaultMinAttemptTime
	}
	if !c.Budget.Disabled {
		b, err := c.Budget.resolve()
		if err != nil {
			return c, err
		}
		c.Budget = b
	}
	if c.IdempotencyHeader == "" {
		c.IdempotencyHeader = DefaultIdempotencyHeader
	}
	if !httpguts.ValidHeaderFieldName(c.IdempotencyHeader) {
		return c, configErrorf("RetryConfig.IdempotencyHeader", nil, "invalid header name %s", redact.FieldName(c.IdempotencyHeader))
	}
	c.IdempotencyHeader = textproto.CanonicalMIMEHeaderKey(c.IdempotencyHeader)
	if c.NewIdempotencyKey == nil {
		c.NewIdempotencyKey = NewIdempotencyKey
	}
	if c.MaxHosts < 0 {
		return c, configErrorf("RetryConfig.MaxHosts", nil, "must not be negative, got %d", c.MaxHosts)
	}
	if c.MaxDrain == 0 {
		c.MaxDrain = DefaultMaxDrain
	}
	return c, nil
}

// FullJitterBackoff is the retry layer's default Backoff, with
// go-retryablehttp's signature: exponential with full jitter, a uniformly
// random wait in [0, min(max, min x 2^attemptNum)] (attemptNum 0 is the
// first retry). Full jitter spreads the retries of many clients that
// failed together, at the price of an occasional short wait. It ignores
// resp: the layer applies server-requested waits itself.
func FullJitterBackoff(min, max time.Duration, attemptNum int, _ *http.Response) time.Duration {
	if min <= 0 || max <= 0 {
		return 0
	}
	ceil := max
	if attemptNum < 62 {
		if c := min << uint(attemptNum); c > 0 && c < max && c>>uint(attemptNum) == min {
			ceil = c
		}
	}
	n := int64(ceil)
	if n < math.MaxInt64 { // [0, ceil]; Int64N(MaxInt64+1) would panic
		n++
	}
	return time.Duration(mrand.Int64N(n))
}

// NewIdempotencyKey returns a random UUID (version 4, RFC 9562) from
// crypto/rand, the default RetryConfig.NewIdempotencyKey.
func NewIdempotencyKey() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:]), nil
}

// StopReason says why the retry layer stopped a call. It is the value of
// RetryError.Reason and of the RetryStopKey attribute.
type StopReason string

// Reasons the retry layer stops.
const (
	// StopNotRetryable: the last outcome is not one to retry (a
	// permanent error, or an error CheckRetry declined).
	StopNotRetryable StopReason = "not_retryable"
	// StopCanceled: the call's context ended: the caller canceled it, or
	// a deadline passed, the caller's or the total timeout's
	// (NewTotalTimeout, which bounds the call). A context that had ended
	// before the call reached the layer gets no attempt (Attempts 0, Last
	// context.Cause of it): nothing is sent or counted.
	StopCanceled StopReason = "canceled"
	// StopAttempts: MaxAttempts were made.
	StopAttempts StopReason = "attempts"
	// StopBudget: the host's retry budget was spent.
	StopBudget StopReason = "budget"
	// StopDeadline: the wait before the next attempt would not fit before
	// the deadline; Last is a *DeadlineError.
	StopDeadline StopReason = "deadline"
	// StopNotReplayable: the request may have been processed and is not
	// replayable (non-idempotent method without an Idempotency-Key, or a
	// body without GetBody).
	StopNotReplayable StopReason = "not_replayable"
	// StopNotSent: the request was never sent (a refused or failed dial, an
	// HTTP/2 REFUSED_STREAM: the server did not process it) but its body
	// cannot be made again (no GetBody), so it was not retried: the failed
	// attempt may have read or closed the body. The caller may safely send
	// the request again with a fresh body. It does not match
	// ErrNotReplayable.
	StopNotSent StopReason = "not_sent"
	// StopRetryAfterCap: the server asked for a wait above MaxRetryAfter,
	// or a cooldown read from a shared CooldownStore, or extended while
	// the call waited it out, runs beyond it.
	StopRetryAfterCap StopReason = "retry_after_cap"
	// StopCheckRetry: CheckRetry returned an error and no retry.
	StopCheckRetry StopReason = "check_retry"
	// StopBody: GetBody or the idempotency key generator failed.
	StopBody StopReason = "request_body"
)

// RetryError is the error of every call the retry layer fails: Attempts is
// how many attempts the layer made, counted as MaxAttempts and
// Attempts(resp) count them: one an inner layer refused before sending
// (breaker, throttle, egress guard) or whose connection failed counts, as
// Last then says (0 when none could start: a wait before the first did not
// fit the deadline, the context ended, before the call too, GetBody
// failed), Last the error
// the call ends with (the last attempt's error, a *DeadlineError, the
// context's error...), Reason why the layer stopped, and Status the status
// code of the last response when the layer discarded one to report a
// deadline, a CheckRetry error or, for the retry it was discarded for, a
// GetBody failure (0 otherwise). With StopBody after an attempt that
// failed with an error, Last wraps that error too. errors.Is and errors.As
// see through it to Last; with Reason StopNotReplayable it also matches
// ErrNotReplayable.
type RetryError struct {
	Attempts int
	Last     error
	Reason   StopReason
	Status   int
}

func (e *RetryError) Error() string {
	s := "transport: retry: " + strconv.Itoa(e.Attempts) + " attempt"
	if e.Attempts != 1 {
		s += "s"
	}
	s += " (" + string(e.Reason) + ")"
	if e.Status != 0 {
		s += ", last status " + strconv.Itoa(e.Status)
	}
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

func (e *RetryError) Unwrap() error { return e.Last }

// Is makes a RetryError whose Reason is StopNotReplayable match
// ErrNotReplayable: the request may have been processed and could not be
// sent again, so only the server can tell whether it took effect.
func (e *RetryError) Is(target error) bool {
	return target == ErrNotReplayable && e.Reason == StopNotReplayable
}

// Timeout reports whether the call ended because a deadline passed: the
// caller's, the total timeout's, an attempt timeout, or a wait that did
// not fit before the deadline (a *DeadlineError), or because Last is a
// network timeout. It makes the *url.Error that Client.Do and http.Client
// return around a RetryError answer Timeout() as net/http's does, so
// os.IsTimeout and errors.As to a net.Error classify a timed-out call.
func (e *RetryError) Timeout() bool {
	if errors.Is(e.Last, context.DeadlineExceeded) {
		return true
	}
	t, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](e.Last)
	return ok && t.Timeout()
}

// ErrorType returns the error.type of Last, the failure the call ended
// with (a matching ErrNotReplayable is the retry layer's decision, not
// the failure).
func (e *RetryError) ErrorType() string { return ErrorType(e.Last) }

// RewriteErrors returns a copy of e whose Last is rewrite(e.Last). Error
// redaction (TraceConfig.Redaction, client.Do) uses it to redact the URL
// of a *url.Error in Last while errors.As still finds the *RetryError.
func (e *RetryError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Last = rewrite(e.Last)
	return &c
}

// Attempts returns how many attempts the call that produced resp made, as
// the stack numbered them (BeginAttempt): 1 for a first-attempt answer, 3
// for an answer to the second retry. It reads the attempt number carried
// by resp.Request's context, so it works for any response that came
// through a retry layer or an attempt scope; it returns 0 when resp, or
// its Request, carries no attempt (a response from a bare transport).
// With http.Client following redirects, it counts the attempts of the last
// hop. It works after the body is closed too, but that context is then
// canceled under a total or attempt timeout: make a follow-up call with
// the caller's own context, not resp.Request.Context().
func Attempts(resp *http.Response) int {
	if resp == nil || resp.Request == nil {
		return 0
	}
	if a, ok := AttemptFrom(resp.Request.Context()); ok {
		return a.Number + 1
	}
	return 0
}

// NewRetry returns the retry layer. It owns the attempts of a call: for
// each it makes the attempt's one request clone (BeginAttempt; the inner
// layers share it through Own), with a fresh body from req.GetBody after
// the first, and sends it to next. The caller's request is never modified.
//
// Rules:
//
//   - Outcomes are judged by Classify (or cfg.CheckRetry). Retried:
//     408, 425, 429, 5xx other than 501, a 409 answering a retry of a
//     request carrying an idempotency key (the server still processing
//     an earlier attempt, draft-ietf-httpapi-idempotency-key-header; not
//     after a first attempt, nor when every earlier attempt was never
//     sent or was answered 408, 425 or 429, which say the server did not
//     process it), errors that prove the request was
//     never sent (for any method), and ambiguous errors (resets,
//     timeouts) only for replayable requests: an idempotent method, or an
//     Idempotency-Key / X-Idempotency-Key header (cfg.IdempotencyKeys adds
//     one). A body is only ever replayed through GetBody: a never-sent
//     request whose body has no GetBody is not retried, and fails with
//     Reason StopNotSent (not ErrNotReplayable: the server never saw it);
//     a GetBody that hands back the request's own Body (which the attempt
//     before read) or a nil reader stops the call with Reason StopBody,
//     wrapping signer.ErrBodyNotReplayable.
//     Never retried:
//     the caller's cancellation, TLS, certificate and pin failures, egress
//     and redirect denials, an open circuit, client-side rate limiting,
//     other 4xx, a malformed request (ErrInvalidRequest; Go's HTTP/2
//     transport refusing a connection-specific header such as Connection
//     or Upgrade, or a header list over the server's limit, is reported
//     as one).
//   - The wait before a retry is the larger of cfg.Backoff and the wait
//     the server asked for (Retry-After in delta-seconds or any HTTP-date
//     format, a date read against the response's Date field when valid; a
//     RateLimit item with r=0 and its t), the latter with jitter.
//     A 429, a 503 with Retry-After, or RateLimit r=0 also starts a
//     cooldown for the host that every call honours before each attempt.
//     A server wait above cfg.MaxRetryAfter stops the call with the
//     server's response.
//   - Deadline-aware: no wait starts that would leave less than
//     cfg.MinAttemptTime before the context's deadline; the call fails at
//     once with a *RetryError whose Last is a *DeadlineError saying what
//     was asked and what was left.
//   - A per-host retry budget (cfg.Budget) bounds retries to a fraction
//     of recent calls, so an outage cannot multiply the load. Only retries
//     that are sent count: one stopped after it was taken from the budget
//     (the deadline, a cooldown, GetBody, the caller's cancellation) or
//     refused below before anything reached the host (an open breaker,
//     the throttle, a throttle wait the context ended, egress, a
//     credential or signing key, a malformed request, a closed client) is
//     given back.
//   - A discarded response's body is drained (at most cfg.MaxDrain
//     bytes, for DrainTimeout at most) and closed before the wait, so the
//     connection is reused; the layer never calls CloseIdleConnections.
//   - When the attempts run out, or the layer may not retry, after a
//     response, that last response is returned intact (Attempts(resp)
//     says how many attempts were made). Every error is a *RetryError.
//
// Span events (on the span current in the caller's context, the call
// span in a stack): EventRetryScheduled (RetryAttemptKey, RetryDelayKey,
// RetryReasonKey, RetrySourceKey), EventThrottled for a cooldown wait,
// EventBudgetExhausted. A nil next means http.DefaultTransport. Bad
// configuration is a *ConfigError.
func NewRetry(next http.RoundTripper, cfg RetryConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	l := &retryLayer{next: orDefault(next), cfg: c, cooldowns: c.Cooldowns, clk: sysClock}
	l.cooldownsAt, _ = c.Cooldowns.(CooldownStoreAt)
	l.hosts.init(c.MaxHosts, func(string) *retryHost {
		h := &retryHost{}
		if !c.Budget.Disabled {
			h.budget = newBudget(c.Budget)
		}
		return h
	})
	// A host with a cooldown in force or retries counted in its budget's
	// window is forgotten last: its fresh state would send to it at once
	// or allow the budget's floor of retries again, so a caller pushing
	// many other hosts through (a webhook sender, a crawler) cannot lift
	// either.
	l.hosts.busy = l.hostBusy
	meter := meterOf(c.MeterProvider)
	if l.retries, err = meter.Int64Counter(MetricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries scheduled by the securecall retry layer.")); err != nil || l.retries == nil {
		otelHandle(err)
		l.retries = metricnoop.Int64Counter{}
	}
	if l.stops, err = meter.Int64Counter(MetricRetryStops, metric.WithUnit("{call}"),
		metric.WithDescription("Calls on which the securecall retry layer stopped retrying.")); err != nil || l.stops == nil {
		otelHandle(err)
		l.stops = metricnoop.Int64Counter{}
	}
	l.hosts.forgotten = newForgetCounter(meter, "retry")
	return l, nil
}

type retryLayer struct {
	next        http.RoundTripper
	cfg         RetryConfig
	cooldowns   CooldownStore   // nil: the entries' own
	cooldownsAt CooldownStoreAt // cooldowns, when it takes the caller's clock
	hosts       registry[retryHost]
	retries     metric.Int64Counter
	stops       metric.Int64Counter
	attrSets    optCache[hostLabel, []metric.AddOption]
	hostKeys    hostKeyCache
	clk         clock
	// lend: the call's first attempt takes the call trace's own copy of
	// the request instead of copying it (beginCallAttempt). Only a stack
	// builder that knows every call-level layer above sets it
	// (stackhook.LendCallCopy, which client.New calls): the attempt's
	// layers change that copy in place, credentials included, so a layer
	// of the caller's reading its request after next would see them.
	lend bool
}

func init() {
	stackhook.LendCallCopy = func(rt http.RoundTripper) bool {
		l, ok := rt.(*retryLayer)
		if ok {
			l.lend = true
		}
		return ok
	}
}

// retryHost is the retry layer's state for one host.
type retryHost struct {
	budget *budget // nil: no budget
	cool   cooldownEntry
}

// hostBusy reports state of h that a fresh entry would lose: a cooldown
// in force, or retries counted in the budget's window. It runs only when
// the host registry is full.
func (l *retryLayer) hostBusy(h *retryHost) bool {
	now := l.clk.Mono(l.clk.Now())
	if h.cool.until.Load() > now {
		return true
	}
	if h.budget != nil {
		if _, retries := h.budget.win.totals(now); retries > 0 {
			return true
		}
	}
	return false
}

// hostLabel selects a cached metric attribute set.
type hostLabel struct {
	host  string
	key   attribute.Key
	value string
}

func (l *retryLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.roundTrip(req)
	if err == nil {
		showRequest(resp) // the attempt's credentials stay below
	}
	return resp, err
}

func (l *retryLayer) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if ended(ctx) {
		// The call's context ended before it began: no attempt starts
		// (net/http would refuse it before dialing, after the breaker,
		// the throttle and the attempt trace had counted it as one), and
		// the host's budget gets no call for it.
		closeBody(req)
		return nil, &RetryError{Reason: StopCanceled, Last: context.Cause(ctx)}
	}
	host := l.hostKeys.of(req.URL)
	var now time.Time
	sc := callScopeFrom(ctx)
	var cs *callScope // sc when req is the call's own copy (ownedScope)
	if sc != nil && sc.owned(req) && !sc.lent {
		cs = sc
	}
	if l.cfg.SharedClock && cs != nil && !cs.start.IsZero() {
		now = cs.start // the call began microseconds ago: no second clock read
	} else {
		now = l.clk.Now()
	}
	h := l.hosts.getFor(host, l.clk.Mono(now), req)
	// counted: the call is in the budget's count, at callAt. It is taken
	// out again while every attempt so far was refused before sending
	// (uncount), and put back in before a retry is sent.
	var callAt int64
	counted := false
	if h.budget != nil {
		callAt = l.clk.Mono(now)
		h.budget.call(callAt)
		counted = true
	}
	refusedN := 0 // attempts refused before sending
	// uncount takes the call out of the budget's count when none of the
	// attempts made so far reached the host.
	uncount := func(attempts int) {
		if counted && refusedN == attempts {
			h.budget.uncall(callAt)
			counted = false
		}
	}
	replayable := idempotentMethod(req.Method) || hasIdempotencyKey(req.Header)
	if !replayable && l.cfg.IdempotencyKeys {
		// The caller's own key in the configured header is the call's key:
		// it is kept (a generated one would replace it) and makes the call
		// replayable.
		replayable = hasField(req.Header, l.cfg.IdempotencyHeader)
	}
	var key string
	if !replayable && l.cfg.IdempotencyKeys {
		k, err := l.newKey(req)
		if err != nil {
			closeBody(req)
			return nil, &RetryError{Reason: StopBody, Last: fmt.Errorf("transport: retry: idempotency key: %w", err)}
		}
		if k == "" || !httpguts.ValidHeaderFieldValue(k) {
			// No key would be sent (or net/http would refuse it): the
			// call must not become replayable without one.
			closeBody(req)
			return nil, &RetryError{Reason: StopBody, Last: errors.New("transport: retry: idempotency key: generator returned an empty key or one that is not a valid field value")}
		}
		key, replayable = k, true
	}

	if r, ok := l.cooldowns.(DegradationReporter); ok {
		r.ReportDegraded(ctx) // a shared store serving from its fallback
	}
	lastStatus := 0   // the status of the last response discarded for a retry
	var lastErr error // or the error of the last attempt, retried
	// charge is the retry taken from the budget and not sent yet: it is
	// given back when the retry is stopped before it is sent (a cooldown
	// that does not fit, GetBody, the deadline, the caller's cancellation)
	// or refused below before anything reached the host
	// (refusedBeforeSending), so the budget only counts retries the host
	// saw.
	var charge budgetCharge
	// src is the request as it reached the layer: what the decisions read
	// and every attempt after the first is copied from. When req is the
	// call's own copy (cs), the first attempt takes req itself
	// (beginCallAttempt) instead of copying it, and pristine keeps req's
	// fields from before it: once that attempt is over, src becomes a
	// copy of them. req itself is then never touched again: its inner
	// layers changed it, and the base transport may still hold it (an
	// HTTP/1 body being written, an HTTP/2 stream).
	src := req
	var pristine http.Request
	inPlace := false
	// pendingCheck is CheckRetry's error with the retry about to be made
	// ((true, err)): a cooldown that stops that retry keeps it, as the
	// layer's other stops do.
	var pendingCheck error
	// sentEarlier: an earlier attempt of the call may have reached the
	// server and still be in progress there (it was not proven never sent,
	// nor answered with a status saying it was not processed:
	// unprocessedAnswer), so a keyed retry's 409 may be the server still
	// processing it (conflictOutstanding).
	sentEarlier := false
	for n := 0; ; n++ {
		// Honour the host's cooldown (set by this call or any other).
		var err error
		if n == 0 && l.cooldowns != nil {
			now, err = l.firstCooldown(ctx, host, h, now, req)
		} else {
			now, err = l.awaitCooldown(ctx, host, h, now)
		}
		if err != nil {
			if n == 0 {
				closeBody(req)
			}
			uncount(n) // the host's cooldown: nothing of the call was sent
			charge.refund()
			if pendingCheck != nil {
				switch e := err.(type) {
				case *DeadlineError:
					e.Err = policyError(pendingCheck, e.Err)
				case *RateLimitError:
					err = policyError(pendingCheck, e)
				}
			}
			return nil, l.fail(ctx, host, n, lastStatus, err)
		}
		var r *http.Request
		if n == 0 && cs != nil && l.lend {
			pristine = *req
			r = beginCallAttempt(cs, req, host, now, l.cfg.SharedClock)
			inPlace = r == req
		} else {
			r = beginAttempt(src, n, host, now, l.cfg.SharedClock)
		}
		if n > 0 && !(src.Body == nil || src.Body == http.NoBody) {
			b, err := freshBody(src)
			if err != nil {
				charge.refund()
				uncount(n) // not sent: the call still never reached the host
				// The last attempt's outcome stays in the error: what the
				// server answered (Status), or how the attempt failed.
				last := fmt.Errorf("transport: retry: GetBody: %w", err)
				if lastErr != nil {
					last = fmt.Errorf("%w (last attempt: %w)", last, lastErr)
				}
				last = policyError(pendingCheck, last) // CheckRetry's (true, err): err, as for every stop
				l.count(ctx, l.stops, host, RetryStopKey, string(StopBody))
				return nil, &RetryError{Attempts: n, Reason: StopBody, Last: last, Status: lastStatus}
			}
			r.Body = b
		}
		if key != "" {
			setHeader(r, l.cfg.IdempotencyHeader, key)
		}
		// The trailer the attempt's body fills: a body from GetBody fills
		// the caller's, past any layer above that copied the request.
		if inPlace {
			syncTrailer(r, trailerSource(&pristine))
		} else {
			syncTrailer(r, trailerSource(src))
		}

		if n == 0 && sc != nil && cs == nil && !(r.Body == nil || r.Body == http.NoBody) {
			// The call's body, sent, below a NewCallLayerBoundary (the
			// request is no longer the call's own copy): taken.
			sc.flags.Or(scopeBodyTaken)
		}
		resp, err := l.next.RoundTrip(r)
		if err == nil && resp != nil && lateForDeadline(ctx) {
			// An answer net/http returned after the call's deadline ran
			// out and it canceled the request (see lateAnswer): the
			// deadline's error, as with an attempt timeout below.
			resp, err = nil, lateAnswer(ctx, resp)
		}
		if err != nil && h.budget != nil && refusedBeforeSending(invalidForHTTP2(r, err)) && !replayedAttempt(r) {
			charge.refund()
			refusedN++
			uncount(n + 1) // none of the call's attempts has reached the host
		}
		charge.set = false

		if err == nil && plainSuccess(resp) && l.cfg.CheckRetry == nil {
			if resp.Body == nil {
				resp.Body = http.NoBody
			}
			return resp, nil // the happy path: nothing to classify, no clock read
		}
		if inPlace {
			// req is the first attempt's now: from here on, what it was.
			p := new(http.Request)
			*p = pristine
			src, inPlace = p, false
		}
		now = l.clk.Now()
		switch { // a broken next: keep the contract
		case err != nil && resp != nil:
			drainClose(resp, l.cfg.MaxDrain)
			resp = nil
		case err == nil && resp == nil:
			err = errNoAttemptResponse
		}
		if err != nil {
			err = invalidForHTTP2(r, err) // the caller's error: never retried
		}
		if err == nil && resp.Body == nil {
			resp.Body = http.NoBody
		}
		v := Classify(ctx, resp, err, now)
		// conflict: a 409 retried as the server still processing an
		// earlier attempt. The layer cannot tell it from a genuine
		// conflict, so when the retry has no time left the 409 stays the
		// call's answer, as it is when the attempts run out.
		conflict := false
		if sentEarlier && l.cfg.CheckRetry == nil && l.conflictOutstanding(src, key, resp, v) {
			conflict = true
			v.Class = ClassRetryableStatus
			if !v.HasWait {
				if w, s, _, ok := ServerWait(resp, now); ok {
					v.Wait, v.HasWait, v.Source = w, true, s
				}
			}
		}
		// spent is how long a shared store's cooldown write took, when it
		// may have blocked: the wait below counts from the response (the
		// server's wait runs from it, a backoff from the failure), so that
		// much of it has passed. A wait that then does not fit the
		// deadline is reported with what was left of it.
		var spent time.Duration
		if l.noteServerWait(host, h, v, now, resp) {
			fresh := l.clk.Now()
			spent, now = fresh.Sub(now), fresh
		}

		retry, stop, checkErr := l.decide(ctx, src, resp, err, v, replayable)
		if !retry {
			if stop == StopNotSent {
				err = &notSentError{err}
			}
			if checkErr != nil {
				return nil, l.policyFail(n+1, stop, resp, err, checkErr)
			}
			if err != nil {
				return nil, &RetryError{Attempts: n + 1, Reason: stop, Last: err}
			}
			return resp, nil
		}
		if n+1 >= l.cfg.MaxAttempts {
			return l.giveUp(ctx, host, n+1, StopAttempts, resp, err, checkErr)
		}

		// The wait: the backoff, or the server's wait if longer.
		// floor is the part that must be waited; the rest (the jitter on
		// the server's wait) is trimmed to fit before the deadline.
		wait := min(max(l.backoff(n, resp), 0), l.cfg.MaxRetryAfter)
		source := SourceBackoff
		floor := wait
		if v.HasWait {
			if v.Wait > l.cfg.MaxRetryAfter {
				return l.giveUp(ctx, host, n+1, StopRetryAfterCap, resp, err, checkErr)
			}
			if sw := jitter(v.Wait, l.cfg.ServerWaitJitter); sw >= wait {
				floor = max(wait, v.Wait)
				wait, source = sw, v.Source
			}
		}
		reserve := max(l.cfg.MinAttemptTime, 0)
		wait = trimToDeadline(ctx, now, max(floor-spent, 0), max(wait-spent, 0), reserve)
		var cause error
		switch {
		case source == SourceRetryAfter || source == SourceRateLimit:
			cause = ErrRateLimited
		case err != nil:
			cause = err
		}
		cause = policyError(checkErr, cause)
		if derr := checkDeadline(ctx, now, wait, reserve, source, cause); derr != nil {
			if conflict {
				return l.giveUp(ctx, host, n+1, StopDeadline, resp, nil, nil)
			}
			status := 0
			if resp != nil {
				status = resp.StatusCode
				drainClose(resp, l.cfg.MaxDrain)
			}
			l.count(ctx, l.stops, host, RetryStopKey, string(StopDeadline))
			return nil, &RetryError{Attempts: n + 1, Reason: StopDeadline, Last: derr, Status: status}
		}
		if h.budget != nil {
			at := l.clk.Mono(now)
			if !counted {
				// Every attempt so far was refused before sending: the
				// call counts again from the retry that may reach the host.
				callAt, counted = at, true
				h.budget.call(at)
			}
			if !h.budget.tryRetry(at) {
				uncount(n + 1) // not sent: the call still never reached the host
				addHostEvent(ctx, EventBudgetExhausted, host, RetryAttemptKey.Int(n+1))
				return l.giveUp(ctx, host, n+1, StopBudget, resp, err, checkErr)
			}
			charge = budgetCharge{b: h.budget, at: at, set: true}
		}

		pendingCheck = checkErr
		sentEarlier = sentEarlier || (v.Class != ClassNeverSent && !unprocessedAnswer(resp))
		reason := ErrorType(err)
		lastStatus, lastErr = 0, err
		if resp != nil {
			reason = strconv.Itoa(resp.StatusCode)
			lastStatus = resp.StatusCode
			drainClose(resp, l.cfg.MaxDrain)
			// The drain may have taken a while (a body trickling in, up
			// to the attempt's deadline): the wait counts from the answer,
			// so that much of it has passed, and what is left of it must
			// still fit before the deadline, or the call would sleep into
			// it instead of failing at once.
			if d := l.clk.Now().Sub(now); d > 0 {
				now, wait = now.Add(d), max(wait-d, 0)
				src := source
				if wait == 0 {
					src = SourceDeadline // only the attempt itself is left
				}
				if derr := checkDeadline(ctx, now, wait, reserve, src, cause); derr != nil {
					charge.refund()
					l.count(ctx, l.stops, host, RetryStopKey, string(StopDeadline))
					return nil, &RetryError{Attempts: n + 1, Reason: StopDeadline, Last: derr, Status: lastStatus}
				}
			}
		}
		AddEvent(ctx, EventRetryScheduled,
			RetryAttemptKey.Int(n+1), RetryDelayKey.Float64(wait.Seconds()),
			RetryReasonKey.String(reason), RetrySourceKey.String(string(source)))
		l.countRetry(ctx, host, source, &charge, uncount, n+1)
		if serr := sleepCtx(ctx, wait); serr != nil {
			charge.refund()
			uncount(n + 1) // not sent: the call still never reached the host
			return nil, &RetryError{Attempts: n + 1, Reason: StopCanceled, Last: serr}
		}
		now = l.clk.Now()
	}
}

// decide reports whether the outcome of an attempt should be retried,
// and if not, why, with CheckRetry's error if it gave one. CheckRetry
// returning (false, err) stops the call with StopCheckRetry; (true, err)
// means, as in go-retryablehttp, "retry, and if you cannot, fail with
// err": err is returned with the verdict, for the layer to report if it
// then stops. Safety rules override CheckRetry.
func (l *retryLayer) decide(ctx context.Context, req *http.Request, resp *http.Response, err error, v Verdict, replayable bool) (bool, StopReason, error) {
	switch v.Class {
	case ClassCanceled:
		return false, StopCanceled, nil
	case ClassPermanent:
		return false, StopNotRetryable, nil
	}
	var retry bool
	var checkErr error
	if l.cfg.CheckRetry != nil {
		ok, cerr := l.checkRetry(ctx, resp, err)
		if !ok {
			if cerr != nil {
				return false, StopCheckRetry, cerr
			}
			return false, StopNotRetryable, nil
		}
		retry, checkErr = true, cerr
	} else {
		retry = v.Class != ClassSuccess
	}
	if !retry {
		return false, StopNotRetryable, nil
	}
	// May it be sent again? A never-sent request always may (given its
	// body can be made again); otherwise only a replayable one. A
	// never-sent request whose body cannot be made again is not retried
	// (the failed attempt may have read or closed it), but it is reported
	// as not sent: the server never saw it.
	if v.Class == ClassNeverSent && !bodyReplayable(req) {
		l.countHolding(ctx, l.stops, HostKey(req.URL), RetryStopKey, string(StopNotSent), resp)
		return false, StopNotSent, checkErr
	}
	if !bodyReplayable(req) || (v.Class != ClassNeverSent && !replayable) {
		l.countHolding(ctx, l.stops, HostKey(req.URL), RetryStopKey, string(StopNotReplayable), resp)
		return false, StopNotReplayable, checkErr
	}
	return true, "", checkErr
}

// checkRetry, backoff and newKey call the caller's functions
// (RetryConfig.CheckRetry, Backoff, NewIdempotencyKey): a panic in one (a
// bug in it) goes on unchanged, but the response in hand is closed first
// (or, before the first attempt, the request's body), as RoundTrip must on
// every path: left open, its connection leaked and a throttle's
// concurrency slot below, which its body holds, was lost to the host.

func (l *retryLayer) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	returned := false
	defer func() {
		if !returned {
			closeResponse(resp)
		}
	}()
	ok, cerr := l.cfg.CheckRetry(ctx, resp, err)
	returned = true
	return ok, cerr
}

func (l *retryLayer) backoff(n int, resp *http.Response) time.Duration {
	returned := false
	defer func() {
		if !returned {
			closeResponse(resp)
		}
	}()
	d := l.cfg.Backoff(l.cfg.BaseDelay, l.cfg.MaxDelay, n, resp)
	returned = true
	return d
}

func (l *retryLayer) newKey(req *http.Request) (string, error) {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	k, err := l.cfg.NewIdempotencyKey()
	returned = true
	return k, err
}

// closeResponse closes resp's body, if there is one.
func closeResponse(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}

// conflictOutstanding reports a 409 Conflict answering a retry of a
// request that carries an idempotency key (the caller's, in
// Idempotency-Key, X-Idempotency-Key or, with IdempotencyKeys, the
// configured header; or the generated key): under
// draft-ietf-httpapi-idempotency-key-header, the server's answer to a
// retry that arrived while the original request is still being processed,
// which "requires no correction" before it is retried. The caller only
// checks it after an attempt that may have reached the server. It is not
// the operation's outcome: handing it to the caller would leave the call
// undecided, and a retry of the caller's own, with a new key, could
// perform the operation twice.
func (l *retryLayer) conflictOutstanding(req *http.Request, key string, resp *http.Response, v Verdict) bool {
	if resp == nil || resp.StatusCode != http.StatusConflict || v.Class != ClassSuccess {
		return false
	}
	return key != "" || hasIdempotencyKey(req.Header) ||
		(l.cfg.IdempotencyKeys && hasField(req.Header, l.cfg.IdempotencyHeader))
}

// unprocessedAnswer reports a response that says the server did not
// process the attempt it answers: 408 (it timed out before the request
// was complete), 425 (it refused to process early data) or 429 (it shed
// the request). A keyed retry's 409 after such an attempt cannot be that
// attempt still in progress (conflictOutstanding).
func unprocessedAnswer(resp *http.Response) bool {
	if resp == nil {
		return false
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return false
}

// refusedBeforeSending reports an attempt error (as the layer sees it,
// after invalidForHTTP2) that a layer below the retry layer returned
// without anything reaching the host: the breaker's refusal
// (ErrCircuitOpen), the throttle's (ErrRateLimited, its wait not fitting
// the deadline included), a malformed request (ErrInvalidRequest: Go's
// HTTP/2 header refusal), an egress denial (ErrEgressDenied), a closed
// client (ErrClosed), a request that could not be signed, or a credential
// the auth layer could not get for it (an *AuthError, unless it followed a
// 401 the host sent), or an attempt whose wait in the throttle the
// context ended (the caller's cancellation, a deadline). A dial failure, a
// DNS failure or an HTTP/2 REFUSED_STREAM is not one: the host, its
// network or its resolver saw the attempt, and an outage that shows as
// refused connections must stay bounded by the budget. Nor is any of these once the attempt was answered
// and replayed below (replayedAttempt): the refusal was of the replay.
func refusedBeforeSending(err error) bool {
	if errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrEgressDenied) ||
		errors.Is(err, ErrClosed) || errors.Is(err, errSign) {
		return true
	}
	if _, ok := errors.AsType[*throttleWaitEnded](err); ok {
		return true
	}
	if _, ok := errors.AsType[*quotaError](err); ok {
		return true
	}
	ae, ok := errors.AsType[*AuthError](err)
	return ok && !ae.afterSend
}

// replayedAttempt reports whether the attempt of r was sent and answered
// once already before a layer below replayed it (the auth layer after a
// 401): a refusal of the replay (its signing key, its token, the closed
// client) does not mean the host saw nothing.
func replayedAttempt(r *http.Request) bool {
	a, ok := AttemptFrom(r.Context())
	return ok && a.replayed
}

// giveUp ends a call that wanted another attempt: the last response is
// returned intact, an error is wrapped in a *RetryError. When CheckRetry
// gave an error with its "retry" (checkErr), the call fails with it, as in
// go-retryablehttp: the response is drained and closed.
func (l *retryLayer) giveUp(ctx context.Context, host string, attempts int, reason StopReason, resp *http.Response, err, checkErr error) (*http.Response, error) {
	l.countHolding(ctx, l.stops, host, RetryStopKey, string(reason), resp)
	if checkErr != nil {
		return nil, l.policyFail(attempts, reason, resp, err, checkErr)
	}
	if err != nil {
		return nil, &RetryError{Attempts: attempts, Reason: reason, Last: err}
	}
	return resp, nil
}

// notSentError is the error of a call stopped with StopNotSent: the
// attempt's error, which proves the request never reached the server.
type notSentError struct{ err error }

func (e *notSentError) Error() string {
	return "request not sent, and its body cannot be made again for a retry (no GetBody): " + e.err.Error()
}

func (e *notSentError) Unwrap() error { return e.err }

// policyFail ends a call with CheckRetry's error: resp, if any, is drained
// and closed (its status kept in the *RetryError), and the attempt's own
// error, if any, stays reachable beside checkErr.
func (l *retryLayer) policyFail(attempts int, reason StopReason, resp *http.Response, err, checkErr error) error {
	status := 0
	if resp != nil {
		status = resp.StatusCode
		drainClose(resp, l.cfg.MaxDrain)
	}
	return &RetryError{Attempts: attempts, Reason: reason, Last: policyError(checkErr, err), Status: status}
}

// policyError returns CheckRetry's error checkErr with err (the attempt's
// error, or the cause of a stop) wrapped beside it, so errors.Is and
// errors.As find both; err alone when checkErr is nil.
func policyError(checkErr, err error) error {
	switch {
	case checkErr == nil:
		return err
	case err == nil || errors.Is(checkErr, err):
		return checkErr
	}
	return fmt.Errorf("%w (last attempt: %w)", checkErr, err)
}

// fail wraps an error that stopped the call before attempt n could start;
// status is that of the last response, discarded for the retry (0: none).
func (l *retryLayer) fail(ctx context.Context, host string, n, status int, err error) error {
	reason := StopDeadline
	if rl, ok := errors.AsType[*RateLimitError](err); ok && rl.Reason == string(SourceCooldown) {
		reason = StopRetryAfterCap // a shared cooldown beyond MaxRetryAfter
	}
	if ctx.Err() != nil {
		reason = StopCanceled
	} else {
		l.count(ctx, l.stops, host, RetryStopKey, string(reason))
	}
	e := &RetryError{Attempts: n, Reason: reason, Last: err}
	if reason != StopCanceled {
		e.Status = status
	}
	return e
}

// awaitCooldown waits out host's cooldown, if it has one, or fails at once
// with a *DeadlineError when the wait would not fit before the deadline,
// or a *RateLimitError when the cooldown (from a shared store) runs longer
// than MaxRetryAfter.
// The time left is measured on the monotonic clock (the own entry's ticks,
// or a store's end against the reading it was given or, when both carry
// one, the monotonic readings), so a step of the wall clock does not
// stretch it.
// After a wait an in-process cooldown (the layer's own, or a *Cooldowns
// store) is read again: another call's answer (a 429 with a longer
// Retry-After) may have extended it meanwhile, and sending at the end
// first read would send inside it. The extension is waited out the same
// way, the waits of one call counted together against MaxRetryAfter
// (beyond it, the *RateLimitError). An end read again unchanged is no
// extension: a cooldown past the cap within the slack was waited for the
// cap, and the call goes (it is not waited out in cap-sized waits).
// Another store, whose read may block, is read once per attempt.
func (l *retryLayer) awaitCooldown(ctx context.Context, host string, h *retryHost, now time.Time) (time.Time, error) {
	var spent time.Duration // the cooldown waited out so far (without jitter)
	var lastT time.Time     // the end waited for (store), after a wait
	var lastU int64         // or the own entry's
	for {
		var t time.Time // the store's end
		var u int64     // or the own entry's (ticks)
		waited := false
		if l.cooldowns != nil {
			w0, counted := waitsOf(l.cooldowns)
			if l.cooldownsAt != nil {
				t = l.cooldownsAt.CooldownUntilAt(host, now)
			} else {
				t = l.cooldowns.CooldownUntil(host)
			}
			waited = mayHaveWaited(l.cooldowns, w0, counted)
		} else {
			u = h.cool.until.Load()
		}
		if t.IsZero() && u == 0 {
			if waited {
				// The store may have blocked (a first read of a host): the
				// attempt reads the clock again when it needs it.
				return time.Time{}, nil
			}
			return now, nil
		}
		if waited {
			// The store may have blocked, and a cooldown is set: the wait
			// is from now, not from before the read (which would overshoot
			// the cooldown's end by the read's time).
			now = l.clk.Now()
		}
		var left time.Duration
		if u != 0 {
			left = time.Duration(u - l.clk.Mono(now))
		} else {
			left = t.Sub(now)
		}
		if left <= 0 {
			return now, nil
		}
		if spent > 0 && (u != 0 && u <= lastU || u == 0 && !t.After(lastT)) {
			// Not extended since the wait: the cap was waited.
			return now, nil
		}
		// Not MaxRetryAfter plus the slack: a cap near the largest
		// Duration, meaning no cap, would wrap negative and refuse every
		// cooldown.
		if total := addWaits(spent, left); total > l.cfg.MaxRetryAfter && total-l.cfg.MaxRetryAfter > cooldownCapSlack {
			// A cooldown longer than this layer waits, set through a
			// shared store by a client with a longer cap (or another
			// replica), or extended while this call waited: waiting the
			// cap and then sending would send inside the cooldown the
			// server asked for.
			return now, &RateLimitError{Host: host, Reason: string(SourceCooldown), Wait: total, MaxWait: l.cfg.MaxRetryAfter}
		}
		base := min(left, l.cfg.MaxRetryAfter)
		wait := trimToDeadline(ctx, now, base, jitter(base, l.cfg.ServerWaitJitter), max(l.cfg.MinAttemptTime, 0))
		if err := checkDeadline(ctx, now, wait, max(l.cfg.MinAttemptTime, 0), SourceCooldown, ErrRateLimited); err != nil {
			return now, err
		}
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(wait.Seconds()), ThrottleReasonKey.String(string(SourceCooldown)))
		if err := sleepCtx(ctx, wait); err != nil {
			return now, err
		}
		spent = addWaits(spent, base)
		lastT, lastU = t, u
		now = l.clk.Now()
		if _, mem := l.cooldowns.(*Cooldowns); l.cooldowns != nil && !mem {
			// Another store may block on each read (a fleet store's
			// round trip): it is read once per wait, as before.
			return now, nil
		}
	}
}

// firstCooldown is awaitCooldown for the call's first attempt, whose
// request has not been handed on yet, with a CooldownStore (perhaps the
// caller's): a panic of the store (a bug in it) goes on unchanged, but
// req's body is closed first, as RoundTrip must on every path.
func (l *retryLayer) firstCooldown(ctx context.Context, host string, h *retryHost, now time.Time, req *http.Request) (time.Time, error) {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	now, err := l.awaitCooldown(ctx, host, h, now)
	returned = true
	return now, err
}

// cooldownCapSlack is how far beyond MaxRetryAfter a cooldown read from
// the store may run and still be waited out (its cap): the clocks of the
// replicas sharing a store, and the time since it was set, may make one
// set at another client's same cap read a little longer.
const cooldownCapSlack = time.Second

// noteServerWait starts or extends host's cooldown when the server asked
// every client to hold off: a 429 or 503 with a wait, or RateLimit r=0
// with t, capped at MaxRetryAfter. It reports whether a shared store's
// write may have blocked (the store does not count its waits, or its count
// moved), so that the caller reads the clock again. A panic of the store
// (a bug in a CooldownStore of the caller's) goes on unchanged, but resp,
// the response in hand, is closed first.
func (l *retryLayer) noteServerWait(host string, h *retryHost, v Verdict, now time.Time, resp *http.Response) bool {
	if !v.HasWait || v.Wait <= 0 || !v.Throttled {
		return false
	}
	until := now.Add(min(v.Wait, l.cfg.MaxRetryAfter))
	if l.cooldowns != nil {
		w0, counted := waitsOf(l.cooldowns)
		l.setCooldown(host, until, resp)
		return mayHaveWaited(l.cooldowns, w0, counted)
	}
	h.cool.extend(l.clk.After(now, min(v.Wait, l.cfg.MaxRetryAfter)))
	return false
}

// setCooldown is the store's SetCooldown, with resp in hand (see
// noteServerWait).
func (l *retryLayer) setCooldown(host string, until time.Time, resp *http.Response) {
	returned := false
	defer func() {
		if !returned {
			closeResponse(resp)
		}
	}()
	l.cooldowns.SetCooldown(host, until)
	returned = true
}

// countRetry counts a retry scheduled (attempts made so far: attempts)
// with its budget charge taken: an instrument of the caller's that panics
// (a bug in its MeterProvider) has the charge refunded and the call
// uncounted as for a retry never sent, and its panic goes on unchanged.
func (l *retryLayer) countRetry(ctx context.Context, host string, source WaitSource, charge *budgetCharge, uncount func(int), attempts int) {
	returned := false
	defer func() {
		if !returned {
			charge.refund()
			uncount(attempts)
		}
	}()
	l.count(ctx, l.retries, host, RetrySourceKey, string(source))
	returned = true
}

// countHolding is count with resp, the attempt's response (nil: none),
// in hand: an instrument of the caller's that panics (a bug in its
// MeterProvider) has resp's body closed (its connection not leaked, a
// throttle's slot below given back), and its panic goes on unchanged.
func (l *retryLayer) countHolding(ctx context.Context, c metric.Int64Counter, host string, key attribute.Key, value string, resp *http.Response) {
	returned := false
	defer func() {
		if !returned {
			closeResponse(resp)
		}
	}()
	l.count(ctx, c, host, key, value)
	returned = true
}

// count adds 1 to c with the attribute set {hostKeyAttrs(host), key=value}.
func (l *retryLayer) count(ctx context.Context, c metric.Int64Counter, host string, key attribute.Key, value string) {
	if !c.Enabled(ctx) {
		return
	}
	k := hostLabel{host, key, value}
	opts, ok := l.attrSets.load(k)
	if !ok {
		opts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(hostKeyAttrs(host, []attribute.KeyValue{key.String(value)})...))}
		l.attrSets.store(k, opts)
	}
	c.Add(ctx, 1, opts...)
}

// errNoAttemptResponse is the error of an attempt whose next transport
// returned neither a response nor an error (an unknown failure: retried
// only when the request is replayable).
var errNoAttemptResponse = errors.New("transport: retry: the next transport returned neither a response nor an error")

// drainClose reads at most limit bytes of resp's body, for DrainTimeout
// at most, and closes it, so a discarded response's connection can be
// reused. A body declared longer than limit is not read at all, as
// net/http skips its own drain of a redirect's body past its limit: it
// cannot be read to its end, so the connection is closed (the HTTP/2
// stream reset) whatever is read, and reading part of it would only delay
// the call. A body still being read at DrainTimeout (a server that
// trickles or stalls it) is closed then, from the timer's goroutine, which
// ends the read waiting on it (net/http's bodies, and this package's
// wrappers, allow a Close during a Read) and closes the connection; the
// body is closed once, before drainClose returns, whoever closes it.
func drainClose(resp *http.Response, limit int64) {
	if resp == nil || resp.Body == nil {
		return
	}
	if limit <= 0 || resp.ContentLength > limit || resp.Body == http.NoBody {
		_ = resp.Body.Close()
		return
	}
	d := getDrainer(resp.Body)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	d.finish()
}

// drainer bounds a drain in time: its timer closes the body if the drain
// outlasts DrainTimeout. Drainers are pooled (a drain on the retry path
// allocates no timer); one whose timer fired, or made in a synctest
// bubble (whose timers may not be used outside it), is not.
type drainer struct {
	timer  *time.Timer
	pooled bool
	mu     sync.Mutex
	body   io.ReadCloser // the body drained; nil once closed
}

var drainers sync.Pool

func getDrainer(body io.ReadCloser) *drainer {
	if !inBubble() {
		if d, ok := drainers.Get().(*drainer); ok {
			d.body = body
			d.timer.Reset(DrainTimeout)
			return d
		}
	}
	d := &drainer{body: body, pooled: !inBubble()}
	d.timer = time.AfterFunc(DrainTimeout, d.fire)
	return d
}

// fire closes the body, the drain having outlasted DrainTimeout. It holds
// mu while closing, so finish returns only once the body is closed.
func (d *drainer) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.body != nil {
		_ = d.body.Close()
		d.body = nil
	}
}

// finish stops the timer and closes the body unless fire has.
func (d *drainer) finish() {
	stopped := d.timer.Stop()
	d.mu.Lock()
	if d.body != nil {
		_ = d.body.Close()
		d.body = nil
	}
	d.mu.Unlock()
	if stopped && d.pooled {
		drainers.Put(d) // its timer will not run: safe to reset
	}
}

// inBubble reports whether the goroutine runs in a testing/synctest
// bubble, where the clock has no monotonic reading.
func inBubble() bool {
	now := time.Now()
	return now == now.Round(0)
}

// meterOf returns mp's meter for the resilience layers, the global
// provider's when mp is nil.
func meterOf(mp metric.MeterProvider) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(meterName)
}

func otelHandle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
