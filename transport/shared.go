package transport

import (
	"context"
	"time"
)

// BreakerStore shares the one part of a circuit breaker that a fleet of
// processes needs in common: the time before which a host's breaker is
// open. Failure counting stays local to each process (no lock or round
// trip per request); when a process's breaker opens, it publishes "open
// until T" and every process sharing the store fails fast for that host
// until T. Implementations must be safe for concurrent use and cheap to
// read (OpenUntil is on every request's path): a fleet store answers from
// a local copy it refreshes in the background.
type BreakerStore interface {
	// OpenUntil returns the time until which host's breaker is open in
	// the fleet, or the zero time when it is not.
	OpenUntil(host string) time.Time
	// SetOpenUntil publishes that host's breaker is open until until. A
	// store keeps the later of until and the time it already has. It must
	// not block on the network (it is called on a state change).
	SetOpenUntil(host string, until time.Time)
}

// SharedQuota is a rate limit shared by many processes, consulted by the
// throttle layer after the host's local limits. A fleet implementation
// leases capacity from a shared store in batches so that most calls are
// answered from memory.
type SharedQuota interface {
	// TakeQuota takes one request's share of host's quota. It returns
	// (0, nil) when the request may be sent now; (d, nil) with d > 0 when
	// none is available and asking again after d may succeed (nothing was
	// taken); or an error when the quota cannot be consulted and the
	// implementation's policy is to refuse (the error should match
	// ErrRateLimited: the request is then not retried; any other error is
	// taken for the quota's failure, not the host's, and the request may
	// be retried, whatever its method, as never sent; neither counts
	// against the host's breaker). It must honour ctx's deadline. Once ctx
	// has ended, an error matching ctx.Err() or context.Cause(ctx) ends
	// the request's wait (the caller's cancellation or deadline, with the
	// context's cause), not the quota's failure.
	TakeQuota(ctx context.Context, host string) (retryIn time.Duration, err error)
}

// DegradationReporter is implemented by shared stores that can lose their
// backend (a fleet store whose Redis is unreachable, serving from its local
// fallback). The retry layer (for its CooldownStore) and the breaker
// layer (for its BreakerStore) call ReportDegraded once per request when
// the store implements it, so that degraded mode shows on the request's
// span, not only in the store's metrics. A SharedQuota gets the request's
// context in TakeQuota and reports on its span itself.
type DegradationReporter interface {
	// ReportDegraded adds the store's degraded-mode span event to ctx's
	// span while the store is degraded; otherwise it does nothing. It must
	// be cheap (an atomic load) and must not block.
	ReportDegraded(ctx context.Context)
}

// CooldownStoreAt is implemented by a CooldownStore that can use the
// caller's clock reading: the retry layer, which has just read the clock,
// calls CooldownUntilAt instead of CooldownUntil (one clock read less per
// request, ~70 ns on some virtual machines). now is within microseconds of
// time.Now().
type CooldownStoreAt interface {
	CooldownUntilAt(host string, now time.Time) time.Time
}

// BreakerStoreAt is BreakerStore's CooldownStoreAt: the breaker layer calls
// OpenUntilAt with the clock reading it already has.
type BreakerStoreAt interface {
	OpenUntilAt(host string, now time.Time) time.Time
}

// WaitCounter is implemented by a shared store (CooldownStore,
// BreakerStore, SharedQuota) whose calls on the request path rarely wait
// for its backend. Waits counts the calls that may have waited (a host's
// first read, a probe of a backend that is down, a lease fetched while the
// caller waits, a write the caller waits for), ever, across all callers.
// A stack whose per-attempt layers share one clock reading
// (RetryConfig.SharedClock) reads the clock again after a call to a store
// only when the store does not count its waits or its count moved during
// the call; a count that moves for another caller's wait only costs one
// clock read. It must be cheap: an atomic load.
type WaitCounter interface {
	Waits() uint64
}

// waitsOf returns s's wait count, and false when s does not count them.
func waitsOf(s any) (uint64, bool) {
	if w, ok := s.(WaitCounter); ok {
		return w.Waits(), true
	}
	return 0, false
}

// mayHaveWaited reports whether a call to store s that began when its wait
// count was w0 (counted: whether s counts them) may have waited.
func mayHaveWaited(s any, w0 uint64, counted bool) bool {
	if !counted {
		return true
	}
	w1, _ := waitsOf(s)
	return w1 != w0
}
