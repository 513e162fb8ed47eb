package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/hookpanic"
	"github.com/securecall/securecall/internal/hops"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/stackhook"
	"go.opentelemetry.io/otel"
)

// DefaultAuditMessage is the message of every audit record.
const DefaultAuditMessage = "securecall.call"

// Attribute keys of an audit record.
const (
	AuditMethod   = "http.request.method"
	AuditOrigin   = "server.origin"
	AuditRoute    = "url.template"
	AuditURL      = "url.full"
	AuditStatus   = "http.response.status_code"
	AuditAttempts = "securecall.attempts"
	AuditAuth     = "securecall.auth"
	AuditDuration = "duration"
	AuditTLS      = "tls.protocol.version"
	AuditPinned   = "securecall.tls.pinned"
	AuditErrType  = "error.type"
	AuditError    = "error.message"
)

// AuditConfig configures NewAudit.
type AuditConfig struct {
	// Logger receives the records. Required (a zero slog.Logger, which
	// has no handler, and one made with slog.New of a nil pointer, such as
	// a *slog.JSONHandler never assigned, are refused): auditing is opt-in.
	Logger *slog.Logger
	// Level of the records. Zero: slog.LevelInfo.
	Level slog.Level
	// Message of the records. Empty: DefaultAuditMessage.
	Message string
	// Redaction decides which query values may appear in the url.full
	// attribute and in error messages. nil: none (keys are kept, values
	// replaced with REDACTED; userinfo and fragment are dropped). It is
	// copied at NewAudit: changing it afterwards does not change the layer.
	// An empty QueryKeys entry, which would show the value of a parameter
	// without a name ("?=value"), is a *ConfigError.
	Redaction *redact.Policy
	// Now returns the current time, for durations. nil: time.Now. One
	// that panics (a bug in it) has the request's body closed, or the
	// response's once it came back, and its panic goes on; one that
	// panics while another panic (next's) is on its way to the caller,
	// as the layer records the call, has its own panic dropped, so the
	// caller sees the first, and the call is recorded with no duration.
	Now func() time.Time
	// OnError is called, on the call's goroutine, when the logger's
	// handler fails to write a record (its Handle returns an error: a
	// full disk, a closed file or pipe), which slog.Logger would drop
	// without a trace, or when the handler panics (its Enabled or Handle:
	// a bug in it), the panic being recovered. The error names the audit
	// log and wraps the handler's, or names the panic value's type; it
	// quotes nothing of the record. The call goes on unchanged, with its
	// response. A panic in OnError itself is recovered and logged on
	// slog's default logger. nil: the error goes to OTel's error handler
	// (otel.Handle, which logs to stderr unless otel.SetErrorHandler
	// set another).
	OnError func(error)
}

// NewAudit returns the audit-log layer: one structured record per call,
// written to cfg.Logger when the call returns (response headers received,
// or failed), with the attributes
//
//	http.request.method        GET
//	server.origin              https://api.example.com:443
//	url.template               /users/{id} (the route; a normalised path without one, a hand-set URL.Opaque's target path)
//	url.full                   https://api.example.com/users/42?key=REDACTED
//	http.response.status_code  200 (absent when the call failed)
//	securecall.attempts        physical sends, counted by NewAttemptTrace (0 without it)
//	securecall.auth            bearer+hmac, or none (mtls: a client certificate
//	                           was configured, not necessarily asked for)
//	duration                   time until the response headers or the failure
//	tls.protocol.version       1.3 (absent for plain http and failures)
//	securecall.tls.pinned      true when the connection was checked against pins
//	error.type, error.message  the ErrorType and the redacted message, on failure
//
// No header, body, token or query value (beyond those the Redaction policy
// allows) is ever logged. The path is, as it is, in url.full: a secret in a
// path segment (a bot token, a webhook secret) is not redacted. Go's HTTP/2 refusal of a connection-specific
// header, whose message quotes the header's value, is logged and returned
// as ErrInvalidRequest naming the field only. Place it near the top of the stack, below the
// call trace (whose attempt counts it reports) and above the egress check,
// so refused calls are audited too. A request refused before the stack
// runs never reaches the layer: a redirect hop http.Client's CheckRedirect
// refuses, a malformed request. client.New's client records those through
// its audit layer as well (no status, 0 attempts, zero duration); a
// hand-built stack does not. A call whose layers below panic (a bug in a
// caller's layer or base transport) is recorded as failed, error.type
// _OTHER and error.message "panic in the transport" (never the panic's
// value), and the panic goes on. A next transport that returns neither a
// response nor an error fails the call with an error, recorded and
// returned, as net/http's Client does. A record the logger's handler fails to
// write, or that panics writing, is reported to AuditConfig.OnError
// (otel.Handle without one), never dropped silently, and the call goes
// on. The handler gets the call's context (its
// values: the trace) without its cancellation, so that the record of a
// call canceled or timed out is written by a handler that honours its
// context too. When the logger is not enabled for
// Level, the layer costs one Enabled call.
func NewAudit(next http.RoundTripper, cfg AuditConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		return nil, configErrorf("Logger", nil, "is required")
	}
	if h := cfg.Logger.Handler(); h == nil {
		// A zero slog.Logger: every call would dereference its nil
		// handler on the caller's goroutine.
		return nil, configErrorf("Logger", nil, "has no handler: make it with slog.New")
	} else if v := reflect.ValueOf(h); v.Kind() == reflect.Pointer && v.IsNil() {
		// slog.New of a typed nil (a *slog.JSONHandler never assigned):
		// the same, on its first Enabled call.
		return nil, configErrorf("Logger", nil, "has a nil %T handler", h)
	}
	if p := cfg.Redaction; p != nil {
		for i, k := range p.QueryKeys {
			if k == "" {
				// It names no parameter, and would show the value of one
				// without a name ("?=value"), as client.New's
				// WithVisibleQueryKeys refuses.
				return nil, configErrorf("Redaction.QueryKeys["+strconv.Itoa(i)+"]", nil, "is empty: it names no parameter, and would show the value of one without a name (\"?=value\")")
			}
		}
	}
	a := &auditLayer{next: orDefault(next), log: cfg.Logger, level: cfg.Level, msg: cfg.Message, policy: cfg.Redaction.Clone(), now: cfg.Now, onError: cfg.OnError}
	if a.msg == "" {
		a.msg = DefaultAuditMessage
	}
	if a.now == nil {
		a.now = time.Now
	} else {
		a.callerClock = true
	}
	return a, nil
}

type auditLayer struct {
	next    http.RoundTripper
	log     *slog.Logger
	level   slog.Level
	msg     string
	policy  *redact.Policy
	now     func() time.Time
	onError func(error)
	// callerClock: now is AuditConfig.Now, read guarded (a panic of it
	// closes the bodies in hand: readClockBefore, readClockAfter).
	callerClock bool
	hops        hops.Set[struct{}] // the redirect responses returned
}

func (a *auditLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !a.enabled(ctx) {
		resp, err := a.next.RoundTrip(req)
		if resp == nil && err == nil {
			err = errNoNextResponse
		}
		if resp != nil && err == nil && hops.IsRedirect(resp) {
			a.hops.Pend(resp, struct{}{}) // the level may change by the hop
		}
		return resp, invalidForHTTP2(req, err)
	}
	_, hop := a.hops.Follow(req)
	rec, r, created := withCallRecord(req, hop)
	rctx := r.Context() // read now: inner layers may replace r's in place
	// And the method and URL: inside a call scope, req may become the
	// call's first attempt's request (beginCallAttempt), whose URL the
	// inner layers change (an API key in the query).
	method, u := req.Method, req.URL
	var start time.Time
	if a.callerClock {
		start = readClockBefore(a.now, req)
	} else {
		start = time.Now()
	}
	returned := false
	defer func() {
		if !returned { // a panic (or runtime.Goexit) below: not recovered here
			// The caller's clock, read again, may panic too: the
			// first panic goes on (readClockUnwinding), the call
			// recorded with no duration.
			a.panicked(rctx, method, u, rec, created, readClockUnwinding(a.now, start).Sub(start))
		}
	}()
	resp, err := a.next.RoundTrip(r)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse
	}
	if created {
		rec.finish()
	}
	var end time.Time
	if a.callerClock {
		end = readClockAfter(a.now, resp)
	} else {
		end = time.Now()
	}
	d := end.Sub(start)
	if err != nil && resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
		resp = nil
	}
	if resp != nil && resp.Body == nil {
		resp.Body = http.NoBody
	}
	// Go's HTTP/2 refusal of a connection-specific header, which quotes
	// the header's value, is the caller's malformed request naming the
	// field only (as the retry layer makes it; without one below, it
	// arrives unconverted), in the record and for the caller alike.
	err = invalidForHTTP2(r, err)
	a.write(rctx, method, u, rec, CallAttempts(rctx), resp, err, d)
	if resp != nil && hops.IsRedirect(resp) {
		a.hops.Pend(resp, struct{}{})
	}
	return resp, err
}

// panicked writes the record of a call whose next transport panicked (a
// caller's layer or base transport with a bug; net/http's server recovers
// a handler's panic, and a caller may recover too): the panic goes on, but
// the call, which may have been sent, is recorded as failed, error.type
// ErrorTypeOther, as the call trace ends its span.
func (a *auditLayer) panicked(ctx context.Context, method string, u *url.URL, rec *callRecord, created bool, d time.Duration) {
	if created {
		rec.finish()
	}
	a.write(ctx, method, u, rec, CallAttempts(ctx), nil, errPanicked, d)
}

// errPanicked is the error of the record of a call whose next transport
// panicked.
var errPanicked = errors.New(panicStatus)

// errNoNextResponse is the error of a call whose next transport broke the
// http.RoundTripper contract, returning neither a response nor an error
// (a bug in a caller's layer or base transport): the audit and inventory
// layers record and return it, as net/http's Client does, and so do the
// breaker, limits, total and attempt timeout, call and attempt trace,
// token request trace, auth, API-key, throttle, sign, egress, credential
// guard and attempt-scope layers.
var errNoNextResponse = errors.New("transport: the next transport returned neither a response nor an error")

// nextAnswer is next's answer, (resp, err), with a broken contract's
// (nil, nil) made errNoNextResponse, as net/http's Client makes it.
func nextAnswer(resp *http.Response, err error) (*http.Response, error) {
	if resp == nil && err == nil {
		err = errNoNextResponse
	}
	return resp, err
}

func init() {
	stackhook.AuditRefused = func(rt http.RoundTripper, req *http.Request, err error, hop bool) bool {
		a, ok := rt.(*auditLayer)
		if ok {
			a.refused(req, err, hop)
		}
		return ok
	}
}

// refused writes the record of req, which its caller refused with err
// before it reached the layer (stackhook.AuditRefused): nothing was sent,
// so there is no status, attempt, authentication or TLS to report, and the
// duration is zero. The route is WithRoute's, except for a redirect hop
// (hop: its caller tells, as req.Response does not).
func (a *auditLayer) refused(req *http.Request, err error, hop bool) {
	ctx := req.Context()
	if !a.enabled(ctx) {
		return
	}
	var rec callRecord
	rec.init(ctx, req, hop)
	// 0 attempts: ctx may still carry an earlier call's count (a
	// follow-up made with its response's request context).
	a.write(ctx, req.Method, req.URL, &rec, 0, nil, err, 0)
}

func (a *auditLayer) write(ctx context.Context, method string, u *url.URL, rec *callRecord, attempts int, resp *http.Response, err error, d time.Duration) {
	route := boundRoute(rec.route)
	if route == "" && u != nil {
		route = NormalizePath(requestPath(u))
	}
	if method == "" {
		method = http.MethodGet // as net/http sends it, and the spans say
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String(AuditMethod, method),
		slog.String(AuditOrigin, auditOrigin(u)),
		slog.String(AuditRoute, route),
		slog.String(AuditURL, a.policy.URL(u)),
	)
	if resp != nil {
		attrs = append(attrs, slog.Int(AuditStatus, resp.StatusCode))
	}
	attrs = append(attrs,
		slog.Int(AuditAttempts, attempts),
		slog.String(AuditAuth, rec.auth().String()),
		slog.Duration(AuditDuration, d),
	)
	if cs := serverTLS(u, resp); cs != nil {
		attrs = append(attrs, slog.String(AuditTLS, tlsVersionNumber(cs.Version)), slog.Bool(AuditPinned, rec.pinned()))
	}
	if err != nil {
		attrs = append(attrs,
			slog.String(AuditErrType, errorTypeIn(ctx, err)),
			slog.String(AuditError, a.policy.Error(err).Error()))
	}
	a.logAttrs(ctx, attrs)
}

// logAttrs is slog.Logger.LogAttrs, but for the handler's error, which
// LogAttrs drops: a record not written is reported (AuditConfig.OnError);
// and for a call's ended context, which the handler gets without its
// cancellation.
func (a *auditLayer) logAttrs(ctx context.Context, attrs []slog.Attr) {
	if ctx.Err() != nil {
		// The call was canceled or timed out: its record is handed on
		// all the same, with the context's values (the trace) but not its
		// end, which a handler that exports with its context (OTel's
		// slog bridge over a SimpleProcessor) would fail the write on.
		ctx = context.WithoutCancel(ctx)
	}
	if !a.enabled(ctx) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // write, where LogAttrs's record pointed (AddSource)
	r := slog.NewRecord(time.Now(), a.level, a.msg, pcs[0])
	r.AddAttrs(attrs...)
	if err := a.handle(ctx, r); err != nil {
		a.report(err)
	}
}

// enabled is a.log.Enabled. The handler is the caller's code, run on the
// call's goroutine: a panic in it (a bug) would unwind through RoundTrip,
// before the call (leaving the request body unclosed) or after it (losing
// the response, its body and connection). The audit log is a side
// channel: the panic is recovered and reported as a record not written
// (report), and the call goes on unrecorded.
func (a *auditLayer) enabled(ctx context.Context) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			a.report(handlerPanic(v))
		}
	}()
	return a.log.Enabled(ctx, a.level)
}

// handle is the handler's Handle, a panic in it returned as an error
// (enabled says why).
func (a *auditLayer) handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = handlerPanic(v)
		}
	}()
	return a.log.Handler().Handle(ctx, r)
}

// handlerPanic is the error of a handler's panic, named by its value's
// type only: its text may quote the record.
func handlerPanic(v any) error {
	return fmt.Errorf("the handler panicked (%T)", v)
}

// report reports err, the handler's failure to write a record, to
// AuditConfig.OnError, or otel.Handle without one. A panic in either (a
// bug in the caller's function) is recovered and logged (hookpanic), as
// the call goes on whatever the report.
func (a *auditLayer) report(err error) {
	defer hookpanic.Recover("transport: AuditConfig.OnError")
	err = &auditWriteError{err: err}
	if a.onError != nil {
		a.onError(err)
	} else {
		otel.Handle(err)
	}
}

// auditWriteError is the error reported for a record the handler failed
// to write: it names the audit log and wraps the handler's error.
type auditWriteError struct{ err error }

func (e *auditWriteError) Error() string {
	return "transport: audit record not written: " + e.err.Error()
}

func (e *auditWriteError) Unwrap() error { return e.err }

// auditOrigin returns the origin of u for the record. A Host built by
// hand may hold userinfo ("user:pass@host", which url.Parse would have put
// in User): it is dropped, as url.full drops it.
func auditOrigin(u *url.URL) string {
	if u != nil {
		if i := strings.LastIndexByte(u.Host, '@'); i >= 0 {
			c := *u
			c.Host = u.Host[i+1:]
			u = &c
		}
	}
	return OriginOf(u).String()
}

// tlsVersionNumber returns "1.2", "1.3"... as OTel's tls.protocol.version.
func tlsVersionNumber(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return tls.VersionName(v)
}
