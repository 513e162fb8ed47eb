package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/internal/hops"
)

// DeadlineError reports a wait or an attempt the resilience layers refused
// to start because it could not finish before the call's deadline: a
// backoff, a wait the server asked for (Retry-After, RateLimit), a host
// cooldown, a client-side throttle wait, or an attempt that would start
// with too little time left. The call fails at once instead of sleeping
// into its deadline.
//
// errors.Is(err, context.DeadlineExceeded) is true. Err is the failure
// that made the wait necessary: ErrRateLimited for a wait a server or the
// throttle imposed (so errors.Is(err, ErrRateLimited) holds), the last
// attempt's error for a backoff after an error, nil otherwise.
type DeadlineError struct {
	// Wait is the wait (or, for Reason SourceDeadline, the minimum attempt
	// time) that did not fit.
	Wait time.Duration
	// Remaining is the time that was left before the deadline.
	Remaining time.Duration
	// Reason says what asked for the wait: SourceBackoff,
	// SourceRetryAfter, SourceRateLimit, SourceCooldown, SourceThrottle,
	// SourceTokenRefresh or SourceDeadline.
	Reason WaitSource
	// Err is the cause, when there is one.
	Err error
}

func (e *DeadlineError) Error() string {
	s := "transport: " + string(e.Reason) + " wait of " + e.Wait.String() +
		" does not fit before the deadline (" + max(e.Remaining, 0).String() + " left)"
	if e.Reason == SourceDeadline {
		s = "transport: " + max(e.Remaining, 0).String() + " left before the deadline, less than the minimum attempt time " + e.Wait.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DeadlineError) Unwrap() error { return e.Err }

// RewriteErrors returns a copy of e whose Err is rewrite(e.Err), so that
// error redaction keeps the *DeadlineError (and its ErrorType) reachable.
func (e *DeadlineError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err = rewrite(e.Err)
	return &c
}

// Is makes a DeadlineError match context.DeadlineExceeded.
func (e *DeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded does, so that a
// net.Error check classifies a DeadlineError as a timeout.
func (e *DeadlineError) Timeout() bool { return true }

// ErrorType returns the error.type value of the error (see ErrorType):
// "rate_limited" when a server or the throttle imposed the wait, else
// "timeout".
func (e *DeadlineError) ErrorType() string {
	if errors.Is(e.Err, ErrRateLimited) {
		return ErrorTypeRateLimited
	}
	return ErrorTypeTimeout
}

// checkDeadline returns a *DeadlineError when ctx has a deadline and wait
// plus reserve does not fit before it, nil otherwise.
func checkDeadline(ctx context.Context, now time.Time, wait, reserve time.Duration, reason WaitSource, cause error) error {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	remaining := dl.Sub(now)
	if wait+reserve <= remaining && wait+reserve >= wait { // second test: overflow
		return nil
	}
	if reason == SourceDeadline {
		wait = reserve
	}
	return &DeadlineError{Wait: wait, Remaining: remaining, Reason: reason, Err: cause}
}

// trimToDeadline returns wait cut down to what fits before ctx's deadline
// with reserve left, but never below floor: the part of a wait above floor
// (the jitter added to a server's wait or a cooldown) is the layer's own
// choice, and is not worth failing the call for. A floor that does not fit
// is returned as it is, for checkDeadline to refuse.
func trimToDeadline(ctx context.Context, now time.Time, floor, wait, reserve time.Duration) time.Duration {
	if wait <= floor {
		return wait
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return wait
	}
	if room := dl.Sub(now) - reserve; room < wait {
		return max(room, floor)
	}
	return wait
}

// sleepCtx waits d, or until ctx is done, returning then its cause
// (context.Cause: the caller's own error when it canceled with one, as
// net/http returns it for a send the cancellation cuts; else ctx.Err()).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() == nil {
			return nil
		}
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// AttemptTimeoutError reports that an attempt ran out of its attempt
// timeout (NewAttemptTimeout) before the response headers arrived, or
// before the next transport, having canceled the request, handed back an
// answer that reached it meanwhile (see NewAttemptTimeout). The request
// may have reached the server. errors.Is(err,
// context.DeadlineExceeded) is true; the retry layer treats it as an
// ambiguous failure and the breaker as a server fault.
type AttemptTimeoutError struct {
	// Timeout is the attempt timeout that expired.
	Timeout time.Duration
	// Err is the next transport's error.
	Err error
}

func (e *AttemptTimeoutError) Error() string {
	return "transport: attempt timed out after " + e.Timeout.String() + ": " + e.Err.Error()
}

func (e *AttemptTimeoutError) Unwrap() error { return e.Err }

// RewriteErrors returns a copy of e whose Err is rewrite(e.Err), so that
// error redaction keeps the *AttemptTimeoutError reachable.
func (e *AttemptTimeoutError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err = rewrite(e.Err)
	return &c
}

// Is makes an AttemptTimeoutError match context.DeadlineExceeded even
// when next returned a transport-specific timeout error.
func (e *AttemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// BodyTimeoutError reports that a read of the response body failed because
// a timeout of the stack's own ran out while the caller read it: the total
// timeout (NewTotalTimeout, client.WithTimeout) or the attempt timeout
// (NewAttemptTimeout, client.WithAttemptTimeout), which both bound the
// reading of the body. The response had already been handed over, so
// nothing retries it. errors.Is(err, context.DeadlineExceeded) is true and
// Timeout reports true, as for the bare context error it stands for; the
// caller's own deadline (or cancellation) ending a read is reported as
// net/http reports it, a plain context error, never as a BodyTimeoutError.
//
// The end (io.EOF) of an HTTP/1 body of unknown length (chunked, or ended
// by the connection's close), read once the timeout that bounds it has run
// out, is such a read too: net/http's HTTP/1.1 transport can report, as
// the body's end, the clean end a Go handler that returns when the client
// goes away sends in reaction to the cancellation, and a body cut short
// would read as complete. The price: a body whose end reached the client
// before the deadline, but which the caller read to its end only after
// it, fails as the timeout's too. A body of a declared length (cut short,
// it fails with io.ErrUnexpectedEOF or the context's error), an HTTP/2
// body (net/http resets a canceled stream: its reads fail) and a body
// from a transport that never looked at the context keep their io.EOF,
// and a read after one that returned the body's end returns io.EOF again.
type BodyTimeoutError struct {
	// Layer is the timeout that ran out: TimeoutTotal or TimeoutAttempt.
	Layer TimeoutLayer
	// Duration is that timeout's duration.
	Duration time.Duration
	// Err is the read's error (context.DeadlineExceeded from net/http).
	Err error
}

// TimeoutLayer names one of the stack's own timeouts in a
// BodyTimeoutError.
type TimeoutLayer string

const (
	// TimeoutTotal is the total timeout's (NewTotalTimeout).
	TimeoutTotal TimeoutLayer = "total"
	// TimeoutAttempt is the attempt timeout's (NewAttemptTimeout).
	TimeoutAttempt TimeoutLayer = "attempt"
)

func (e *BodyTimeoutError) Error() string {
	return "transport: reading the response body: " + string(e.Layer) + " timeout of " + e.Duration.String() + " ran out: " + e.Err.Error()
}

func (e *BodyTimeoutError) Unwrap() error { return e.Err }

// Is makes a BodyTimeoutError match context.DeadlineExceeded.
func (e *BodyTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded does, so that a
// net.Error check (os.IsTimeout) classifies the read's error as a timeout.
func (e *BodyTimeoutError) Timeout() bool { return true }

// NewTotalTimeout returns the per-call deadline layer: each call runs
// under min(caller's deadline, now + total). A redirect hop http.Client
// follows (the first request after a redirect response the layer
// returned) is part of its call and keeps the call's deadline, as with
// http.Client.Timeout: a chain of redirects cannot run for a new total
// per hop. The deadline bounds
// everything below it (every attempt, backoff sleep, throttle wait) and the
// reading of the response body: its context is released when the caller
// closes the body (or the call fails), not when RoundTrip returns; a read
// of the body it cuts fails with a *BodyTimeoutError (Layer TimeoutTotal).
// A caller whose own deadline is already earlier pays nothing.
//
// resp.Request carries that context (as with http.Client.Timeout): once
// the body is closed, resp.Request.Context() is canceled. A follow-up call
// (a next page, a poll) must use the caller's own context, not
// resp.Request.Context(), or it fails at once with context.Canceled.
//
// total must be positive (a *ConfigError for "TotalTimeout" otherwise).
// The layer never modifies the caller's request: it sends a shallow copy
// carrying the new context. A nil next means http.DefaultTransport.
func NewTotalTimeout(next http.RoundTripper, total time.Duration) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if total <= 0 {
		return nil, configErrorf("TotalTimeout", nil, "must be positive, got %v", total)
	}
	return &totalTimeout{next: orDefault(next), d: total}, nil
}

type totalTimeout struct {
	next http.RoundTripper
	d    time.Duration
	// hops holds the redirects the layer returned that http.Client may
	// follow, each with its call's deadline, which the hop keeps.
	hops hops.Set[time.Time]
}

func (l *totalTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// Read before next: inside a call scope, req may become the call's
	// first attempt's request. A redirect hop runs under its call's
	// deadline, set when the call's first request came: http.Client
	// follows redirects above the stack, and a hop given a new total of
	// its own would let a chain of redirects run for MaxRedirects+1 totals.
	chain, hop := l.hops.Follow(req)
	cs := ownedScope(req)
	var now time.Time
	if cs != nil && !cs.start.IsZero() {
		now = cs.start // the call began microseconds ago: no second clock read
	} else {
		now = time.Now()
	}
	if !hop {
		chain = now.Add(l.d)
	} else if !now.Before(chain) {
		// The call's deadline has passed (a CheckRedirect took its time):
		// the hop is not sent, whatever the transport below makes of a
		// context past its deadline.
		closeBody(req)
		return nil, context.DeadlineExceeded
	}
	if dl, ok := ctx.Deadline(); ok && !dl.After(chain) {
		resp, err := l.next.RoundTrip(req)
		if resp == nil && err == nil {
			err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
		}
		return l.pend(resp, err, chain)
	}
	var cd *callDeadline
	if cs != nil && cs.deadline.parent == nil {
		cd = &cs.deadline // the call scope's room: no allocation
	} else {
		cd = new(callDeadline)
	}
	cd.init(ctx, chain)
	resp, err := l.next.RoundTrip(WithContext(req, cd))
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	// Released when the body is closed (or at once: an error, no body).
	resp, err = endOnClose(resp, err, &cd.lazyDeadline, &cd.body, bodyTimeoutTotal, l.d)
	return l.pend(resp, err, chain)
}

// pend records resp, when it is a redirect http.Client may follow, with
// chain, its call's deadline, for the hop; it returns resp and err.
func (l *totalTimeout) pend(resp *http.Response, err error, chain time.Time) (*http.Response, error) {
	if err == nil && hops.IsRedirect(resp) {
		l.hops.Pend(resp, chain)
	}
	return resp, err
}

// lazyDeadline is a deadline context that costs no timer until something
// waits on it. Deadline and Err answer from the deadline itself; the first
// Done call creates the real timer context (context.WithDeadline on the
// parent) and every method then defers to it, so the context contract
// holds for whoever uses it. Like a context.WithDeadline whose cancel runs
// when the response body is closed, it is released then (or when the call
// or attempt fails): Err reports context.Canceled and the timer, if any,
// stops.
//
// Two kinds use it: the total timeout's callDeadline, which the common path
// never waits on (the waits between attempts do), and the attempt
// timeout's attemptDeadline, which a transport that selects on the
// request context's Done (net/http's does) materialises, and a transport
// that answers at once (the stub of the benchmarks, a cache) never does.
type lazyDeadline struct {
	parent context.Context
	d      time.Time
	mu     sync.Mutex
	ready  atomic.Bool // ctx and cancel are set (under mu, then never changed)
	// released is next to ready so that neither is padded to 8 bytes: the
	// deadline is held twice in the call scope (TestCallScopeSizeClass).
	released atomic.Bool
	ctx      context.Context
	cancel   context.CancelFunc
	err      atomic.Pointer[error] // the first non-nil Err, latched
}

func (c *lazyDeadline) init(parent context.Context, d time.Time) {
	c.parent, c.d = parent, d
}

// materialized reports whether the timer context exists.
func (c *lazyDeadline) materialized() bool { return c.ready.Load() }

func (c *lazyDeadline) materialize() context.Context {
	if c.ready.Load() {
		return c.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready.Load() {
		return c.ctx
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if p := c.err.Load(); c.released.Load() && (p == nil || *p != context.DeadlineExceeded) {
		// Released before anything waited on it: the release came first,
		// as Err says, even when the deadline has passed since (a timer
		// context made now would report DeadlineExceeded).
		ctx, cancel = context.WithCancel(c.parent)
		cancel()
	} else {
		ctx, cancel = context.WithDeadline(c.parent, c.d)
	}
	c.ctx, c.cancel = ctx, cancel
	c.ready.Store(true)
	return ctx
}

// release ends the context: it cancels the timer context if there is one
// and makes Err report context.Canceled.
func (c *lazyDeadline) release() {
	c.mu.Lock()
	c.released.Store(true)
	ready := c.ready.Load()
	c.mu.Unlock()
	if ready {
		c.cancel()
	}
}

func (c *lazyDeadline) Deadline() (time.Time, bool) { return c.d, true }

func (c *lazyDeadline) Done() <-chan struct{} { return c.materialize().Done() }

// Err returns the first error the context reported, ever after (as a
// context.Context must): the timer context's once there is one, else
// context.Canceled once released, the parent's, or
// context.DeadlineExceeded.
func (c *lazyDeadline) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	var err error
	switch {
	case c.ready.Load():
		err = c.ctx.Err()
	case c.released.Load():
		// Before the parent: a parent that ends after the release must
		// not change the answer (a released deadline nothing asked
		// before reports its release, as materialize makes it).
		err = context.Canceled
	case c.parent.Err() != nil:
		err = c.parent.Err()
	case !time.Now().Before(c.d):
		err = context.DeadlineExceeded
	}
	if err == nil {
		return nil
	}
	// A new cell for the latch, not &err: taking err's address would put
	// it on the heap on every call, a live deadline's nil answers too.
	p := new(error)
	*p = err
	c.err.CompareAndSwap(nil, p)
	return *c.err.Load()
}

func (c *lazyDeadline) Value(key any) any {
	if c.ready.Load() {
		// The timer context: a child's cancellation then registers with
		// it directly (no goroutine per child).
		return c.ctx.Value(key)
	}
	return c.parent.Value(key)
}

func (c *lazyDeadline) String() string { return "transport.lazyDeadline(" + c.d.String() + ")" }

// callDeadline is the total timeout's context (see lazyDeadline).
//
// The common path never waits on it: the attempt-timeout layer, finding an
// untouched callDeadline as the parent of its attempt, gives the attempt one
// deadline, the earlier of the two, made directly on the callDeadline's
// parent (attemptTimeout.RoundTrip). The waits between attempts (backoff,
// cooldowns, throttling) call Done, and pay for the timer then.
type callDeadline struct {
	lazyDeadline
	body cancelBody // the response body wrapper: no second allocation
}

type callDeadlineKey struct{}

func (c *callDeadline) Value(key any) any {
	if key == (callDeadlineKey{}) {
		return c
	}
	return c.lazyDeadline.Value(key)
}

func (c *callDeadline) String() string { return "transport.callDeadline(" + c.d.String() + ")" }

// NewAttemptTimeout returns the per-attempt timeout layer: each attempt
// runs under min(attempt, the deadline it already has); when the call's
// deadline comes first, the layer adds nothing. Its context is
// cancelled when the caller closes the response body (or the attempt
// fails), not when RoundTrip returns, so the body stays readable. When
// the attempt's own timeout (not the caller's) expires before the
// response headers, the error is an *AttemptTimeoutError; when it expires
// while the body is read, the read fails with a *BodyTimeoutError (Layer
// TimeoutAttempt).
//
// A response the next transport returns only after the deadline it was
// waiting on ran out (net/http's transport returns one that reached it
// while it closed the canceled request's connection: often the server's
// own reaction to that cancellation, such as the empty 200 of a Go handler
// that returns when the client goes away) is closed and the attempt ends
// as the deadline's: an *AttemptTimeoutError, or context.DeadlineExceeded
// when the call's deadline (the total timeout's, or the caller's) came
// first (the caller's cause instead, for a deadline it set with
// context.WithTimeoutCause, as net/http returns it). Its body could not be read under the expired deadline anyway.
//
// It belongs inside the retry loop, below the breaker and the throttle, so
// every attempt is bounded on its own and a timed-out attempt counts as a
// breaker failure and may be retried. The context change keeps the
// attempt's request ownership (WithContext). attempt must be positive (a
// *ConfigError for "AttemptTimeout" otherwise). A nil next means
// http.DefaultTransport.
func NewAttemptTimeout(next http.RoundTripper, attempt time.Duration) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if attempt <= 0 {
		return nil, configErrorf("AttemptTimeout", nil, "must be positive, got %v", attempt)
	}
	return &attemptTimeout{next: orDefault(next), d: attempt}, nil
}

type attemptTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (l *attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	a := ownAttempt(req)
	if prev, ok := parent.(*attemptDeadline); ok && a != nil && prev.a == a && prev.released.Load() {
		// The same request again, after an earlier send of this attempt
		// has ended (a layer above resending it once its body was
		// closed): that send's deadline replaced the request's context in
		// place and is released; start from the context the request had
		// then. (An unreleased one is an outer attempt timeout's, whose
		// deadline still holds.)
		parent = prev.entry
		req = WithContext(req, parent)
	}
	dl := a.clock().Add(l.d)
	if a != nil && a.ctx == parent {
		if cd, ok := a.ctx.Context.(*callDeadline); ok && !cd.materialized() && !cd.released.Load() {
			// Over an untouched total deadline (the usual stack): one
			// deadline for the attempt, on the total deadline's parent,
			// ending at the earlier of the two, instead of one per level.
			// (cd.d is before the parent's own deadline: NewTotalTimeout
			// made cd only then.)
			attemptBound := dl.Before(cd.d)
			if !attemptBound {
				dl = cd.d
			}
			return l.lazy(req, a, cd.parent, nil, dl, attemptBound)
		}
	}
	if pd, ok := parent.Deadline(); ok && !pd.After(dl) {
		// The call's deadline comes first.
		resp, err := l.next.RoundTrip(req)
		if resp == nil && err == nil {
			err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
		}
		if err == nil && lateForDeadline(parent) {
			return nil, lateAnswer(parent, resp)
		}
		return resp, err
	}
	if a != nil {
		return l.lazy(req, a, parent, parent, dl, true)
	}
	// A lazy deadline, as in a stack: an answer is late only when the
	// transport waited on the deadline (one that never looks at the
	// context had nothing canceled under it).
	ld := &lazyDeadline{}
	ld.init(parent, dl)
	resp, err := l.next.RoundTrip(WithContext(req, ld))
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if err == nil && ld.materialized() && parent.Err() == nil && ld.Err() == context.DeadlineExceeded {
		err = lateAnswer(ld, resp)
	}
	if err != nil && parent.Err() == nil && errors.Is(ld.Err(), context.DeadlineExceeded) {
		err = &AttemptTimeoutError{Timeout: l.d, Err: err}
	}
	return endOnClose(resp, err, ld, nil, bodyTimeoutAttempt, l.d)
}

// lazy runs an attempt the layer's owner a owns under a lazy deadline dl
// on base, kept in the attempt (no allocation, and no timer unless the
// transport waits on it). What it hands on answers for the attempt; the
// layers above keep the attempt's own context, which this layer's
// cancellation does not reach, exactly as with a child context. An error
// is an *AttemptTimeoutError when the attempt's own deadline (not the
// call's, attemptBound) ran out, and callers, when non-nil, had not
// ended.
func (l *attemptTimeout) lazy(req *http.Request, a *Attempt, base, caller context.Context, dl time.Time, attemptBound bool) (*http.Response, error) {
	ad := &a.deadline
	slot := &a.cancelBody
	if ad.a != nil { // used by an earlier send of the attempt
		ad, slot = &attemptDeadline{}, nil
	}
	ad.a = a
	ad.entry = req.Context()
	ad.init(base, dl)
	resp, err := l.next.RoundTrip(WithContext(req, ad))
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if err == nil && ad.materialized() && (caller == nil || caller.Err() == nil) && ad.Err() == context.DeadlineExceeded {
		err = lateAnswer(ad, resp)
	}
	if err != nil && attemptBound && (caller == nil || caller.Err() == nil) && errors.Is(ad.Err(), context.DeadlineExceeded) {
		err = &AttemptTimeoutError{Timeout: l.d, Err: err}
	}
	// A read of the body cut by ad is the attempt timeout's when ad ends
	// at it; else ad ends at the total timeout's deadline, and the total
	// timeout's body wrapper, above, names it.
	layer := bodyTimeoutNone
	if attemptBound {
		layer = bodyTimeoutAttempt
	}
	return endOnClose(resp, err, &ad.lazyDeadline, slot, layer, l.d)
}

// lateAnswer is the error of an answer the next transport returned after
// the deadline, which it was waiting on, had run out: net/http's transport
// cancels the request then (it closes an HTTP/1.1 connection, resets an
// HTTP/2 stream), and still returns a response that reached it while it
// did so. Such an answer is often the server's reaction to the
// cancellation itself (a Go handler that returns when the client goes
// away, before writing, answers 200 with no content), and its body, under
// the expired deadline, cannot be read. It is the deadline's error, as if
// the cancellation had won the race: an attempt timeout (retried if the
// request is replayable), or the total timeout: context.Cause of ctx, the
// deadline that ran out, as net/http returns it when the cancellation
// wins (the caller's own error for a deadline set with
// context.WithTimeoutCause or WithDeadlineCause, else
// context.DeadlineExceeded). The response is closed.
func lateAnswer(ctx context.Context, resp *http.Response) error {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// lateForDeadline reports whether ctx ended at its deadline while
// something waited on it: an answer returned then came after the
// cancellation. A lazy deadline (the total timeout's, an attempt
// timeout's) nothing waited on (a transport that never looks at the
// context) does not count.
func lateForDeadline(ctx context.Context) bool {
	var ld *lazyDeadline
	switch c := ctx.(type) {
	case *callDeadline:
		ld = &c.lazyDeadline
	case *attemptDeadline:
		ld = &c.lazyDeadline
	case *lazyDeadline:
		ld = c
	default:
		return ctx.Err() == context.DeadlineExceeded
	}
	return ld.materialized() && ld.Err() == context.DeadlineExceeded
}

// ended reports whether ctx has ended, as ctx.Err() != nil does, without
// the clock read (and the allocation) of the Err of a total deadline
// nothing has waited on or released: its parent, the caller's context, is
// asked, and its own deadline, set from a reading of the clock just
// before, is left to the attempt.
func ended(ctx context.Context) bool {
	if c, ok := ctx.(*callDeadline); ok && c.err.Load() == nil && !c.ready.Load() && !c.released.Load() {
		return c.parent.Err() != nil
	}
	return ctx.Err() != nil
}

// endOnClose ties the release of a lazy deadline to the end of resp: at
// once on an error or a response without a body, else when the body is
// closed. slot, when non-nil and unused, holds the body wrapper instead of
// a new allocation. A read of the body that fails because ld ran out is a
// *BodyTimeoutError naming layer (of duration d), unless layer is
// bodyTimeoutNone.
func endOnClose(resp *http.Response, err error, ld *lazyDeadline, slot *cancelBody, layer uint8, d time.Duration) (*http.Response, error) {
	end := cancelBody{ld: ld}
	if err != nil {
		end.end()
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		end.end()
		if resp.Body == nil {
			resp.Body = http.NoBody
		}
		return resp, nil
	}
	if w, ok := resp.Body.(io.Writer); ok { // 101 Switching Protocols: keep it writable
		resp.Body = &cancelRWBody{cancelBody{rc: resp.Body, ld: ld, d: d, layer: layer}, w}
		return resp, nil
	}
	if slot == nil || slot.rc != nil {
		slot = new(cancelBody)
	}
	slot.rc, slot.ld, slot.d, slot.layer = resp.Body, ld, d, layer
	slot.open, slot.ended = openEnded(resp), false
	resp.Body = slot
	return resp, nil
}

// openEnded reports whether resp's body is one whose clean end (io.EOF)
// may be a server's reaction to the client going away rather than the
// body's end: an HTTP/1 body of unknown length (chunked, or ended by the
// connection's close). net/http's HTTP/1.1 transport closes the connection
// of a request whose context ends while its body is read, but the close
// of a TLS connection sends close_notify first, and a Go handler that
// returns once the client goes away (r.Context() done) ends its chunked
// body then: that end can reach the client before the close, and net/http
// reports it as the body's EOF (2 to 6 of 12 reads cut so, over loopback).
// A body of a declared length cut short fails (io.ErrUnexpectedEOF, or
// the context's error), and net/http resets an HTTP/2 stream it cancels,
// failing the body's reads, so their EOF is the body's end.
func openEnded(resp *http.Response) bool {
	return resp.ProtoMajor == 1 && resp.ContentLength < 0
}

// cancelBody releases a lazy deadline when the body is closed, and makes a
// read that the deadline cut a *BodyTimeoutError.
type cancelBody struct {
	rc   io.ReadCloser
	d    time.Duration // the timeout of layer
	ld   *lazyDeadline
	once sync.Once
	// layer is the timeout ld ends at (bodyTimeoutTotal,
	// bodyTimeoutAttempt), or bodyTimeoutNone (in the padding after once:
	// the call scope holds two cancelBody, TestCallScopeSizeClass).
	layer uint8
	// open: the body's end may be the server's reaction to a cancellation
	// (openEnded; in the padding too).
	open bool
	// ended: a read of an open body returned its end (io.EOF), which a
	// later read, after the deadline, keeps (in the padding too).
	ended bool
}

// The layer of a cancelBody.
const (
	bodyTimeoutNone uint8 = iota
	bodyTimeoutTotal
	bodyTimeoutAttempt
)

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		if b.open && !b.ended {
			err = b.cutEOF()
			b.ended = err == io.EOF
		}
	} else if err != nil && b.layer != bodyTimeoutNone {
		err = b.timedOut(err)
	}
	return n, err
}

// cutEOF returns the error of the end (io.EOF) of an open-ended body
// (openEnded): io.EOF, unless the deadline b releases, which the
// transport waited on, had already ended when the end was read. The end
// is then taken for the server's reaction to the cancellation (a Go
// handler that returns when the client goes away ends its chunked body
// cleanly), not for the body's end, and the read fails as the deadline
// cut it: a *BodyTimeoutError for the layer's own timeout
// (context.DeadlineExceeded when the deadline is the total timeout's,
// whose body wrapper, above, names it), the context's cause (the caller's
// cancellation: its own error with context.WithCancelCause, as net/http
// returns it) otherwise. The price: a body whose end had reached the
// client before the deadline, but whose end the caller read only after it,
// cannot be told from a cut one, and fails as the deadline's too. A body
// of a declared length, an HTTP/2 one, one from a transport that never
// looked at the context, or one read after Close keeps its io.EOF, and so
// does a read after a read that returned the end (io.EOF): the body was
// complete, and stays so once the deadline ends (a caller's deferred
// cancel, a drain before Close).
func (b *cancelBody) cutEOF() error {
	if !b.ld.materialized() || b.ld.released.Load() {
		return io.EOF
	}
	err := b.ld.Err()
	switch {
	case err == nil:
		return io.EOF
	case err == context.DeadlineExceeded && b.layer != bodyTimeoutNone:
		return b.timedOut(err)
	}
	// The cause the caller canceled (or set its deadline) with, as
	// net/http returns it for a read the cancellation cuts.
	if cause := context.Cause(b.ld); cause != nil {
		return cause
	}
	return err
}

// timedOut returns err, a failed read, as a *BodyTimeoutError when it is
// the deadline's and the deadline b releases ran out: that deadline is
// always before the one of the context it was made on (the layers add none
// otherwise), so it ended at the layer's own timeout, not at the caller's
// deadline (or cancellation: its Err would be context.Canceled).
func (b *cancelBody) timedOut(err error) error {
	if !errors.Is(err, context.DeadlineExceeded) || b.ld.Err() != context.DeadlineExceeded {
		return err
	}
	if _, ok := errors.AsType[*BodyTimeoutError](err); ok {
		return err // an inner layer's (an attempt timeout's below a total timeout)
	}
	l := TimeoutTotal
	if b.layer == bodyTimeoutAttempt {
		l = TimeoutAttempt
	}
	return &BodyTimeoutError{Layer: l, Duration: b.d, Err: err}
}

// Close closes the body under it and releases the deadline, the first
// time only: io.Closer leaves a second Close undefined, and the body under
// it may be a caller's own base transport's (a caller's deferred Close
// after an explicit one closed it twice when no layer above guarded it).
func (b *cancelBody) Close() error {
	var err error
	b.once.Do(func() {
		err = b.rc.Close()
		b.end()
	})
	return err
}

// end releases, once per cancelBody (Close calls it under once; the other
// callers own a fresh one).
func (b *cancelBody) end() { b.ld.release() }

type cancelRWBody struct {
	cancelBody
	w io.Writer
}

func (b *cancelRWBody) Write(p []byte) (int, error) { return b.w.Write(p) }
