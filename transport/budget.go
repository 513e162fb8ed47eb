package transport

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// Retry budget defaults (BudgetConfig zero values).
const (
	// DefaultBudgetRatio: retries to a host may add at most 10% to the
	// calls made to it recently, so a full outage multiplies the load by
	// at most 1.1 (once there are more calls than the floor covers).
	DefaultBudgetRatio = 0.1
	// DefaultBudgetMinRetries: the floor, retries always allowed per
	// window whatever the traffic, so a client that calls a host rarely
	// can still retry its calls.
	DefaultBudgetMinRetries = 3
	// DefaultBudgetWindow: how far back "recently" goes.
	DefaultBudgetWindow = 10 * time.Second
)

// EventBudgetExhausted is the span event the retry layer adds when it
// would have retried but the host's retry budget was spent.
const EventBudgetExhausted = "securecall.retry.budget_exhausted"

// BudgetConfig configures the per-host retry budget of the retry layer:
// over the last Window, the retries to a host may not exceed Ratio times
// the calls made to it (rounded down, the product taken as the decimal
// Ratio gives it: 0.7 of 90 calls is 63, though 0.7*90 is
// 62.99999999999999 in float64), or MinRetries if that is more. Only
// retries that are sent count: one the retry layer stops after taking it
// (the deadline, a cooldown, GetBody, cancellation) or a layer below
// refuses before anything reaches the host (breaker, throttle, a wait in
// the throttle the caller's cancellation or a deadline ended, egress, a
// credential or signing key that could not be had, a malformed request,
// a closed client) is given back; one that failed to connect (a dial or
// DNS failure) or that the server refused (REFUSED_STREAM, a 401) counts.
// Nor is a call counted whose every attempt was refused so (or stopped by
// the host's cooldown, or, for a retry, by the caller's cancellation
// during the wait or a GetBody failure): the host never saw it, and it
// earns no retries.
// When the budget refuses a retry after a response, that response is
// returned intact. The budget is on by default; set
// Disabled to turn it off. Counts are kept in lock-free buckets; under
// heavy concurrency a retry taken and given back meanwhile may make a
// check refuse a retry the budget had room for, never allow one too many.
type BudgetConfig struct {
	// Ratio is the fraction of recent calls that may be retried. Zero:
	// DefaultBudgetRatio. Must be between 0 and 1 (a larger ratio would
	// let retries outnumber calls).
	Ratio float64
	// MinRetries is the floor: the retries allowed per Window however
	// few the calls. Zero:
	// DefaultBudgetMinRetries; negative: no floor.
	MinRetries int
	// Window is the period the budget looks back over. Zero:
	// DefaultBudgetWindow. At least one second.
	Window time.Duration
	// Disabled turns the budget off: only MaxAttempts limits retries.
	Disabled bool
}

func (c BudgetConfig) resolve() (BudgetConfig, error) {
	if c.Ratio == 0 {
		c.Ratio = DefaultBudgetRatio
	}
	if c.Ratio < 0 || c.Ratio > 1 || math.IsNaN(c.Ratio) {
		return c, configErrorf("RetryConfig.Budget.Ratio", nil, "must be between 0 and 1, got %v", c.Ratio)
	}
	if c.MinRetries == 0 {
		c.MinRetries = DefaultBudgetMinRetries // negative stays: no floor
	}
	if c.Window == 0 {
		c.Window = DefaultBudgetWindow
	}
	if c.Window < time.Second {
		return c, configErrorf("RetryConfig.Budget.Window", nil, "must be at least 1s, got %v", c.Window)
	}
	return c, nil
}

// budget is one host's retry budget over a sliding window: counter a of
// the window counts calls, counter b retries.
type budget struct {
	ratio float64
	min   int64
	win   window
}

func newBudget(c BudgetConfig) *budget {
	b := &budget{ratio: c.Ratio, min: int64(c.MinRetries)}
	b.win.init(c.Window)
	return b
}

// call records one call (a first attempt) at now (ticks, see clock: the
// window runs on the monotonic clock, so a step of the wall clock does not
// forget the retries taken).
func (b *budget) call(now int64) { b.win.add(now, 1, 0) }

// tryRetry takes one retry from the budget at now, reporting false (and
// taking nothing) when the budget is spent. The retry is taken first and
// the budget checked after, with it counted: of concurrent callers, the
// last to check sees every take made before its check, its own included,
// so they cannot overdraw the budget together. A compare-and-swap on the
// current slice's count did not do that for callers whose readings
// straddle a slice's end: each side's swap succeeded in its own bucket
// after both had summed the same total. A caller that finds the budget
// spent gives its take back; a concurrent check may have counted it, and
// refused a retry the budget had room for (never one too many).
func (b *budget) tryRetry(now int64) bool {
	bk := b.win.bucket(now)
	if bk == nil {
		return false // now has left the window: no budget to take from
	}
	bk.b.Add(1)
	calls, retries := b.win.totalsThrough(now)
	if retries > b.allowed(calls) {
		b.refund(now)
		return false
	}
	return true
}

// allowed returns the retries calls allow: Ratio times calls, rounded
// down, or the floor if that is more. A product a hair below an integer
// is float64's rounding of a decimal ratio (0.7*90 is 62.99999999999999,
// 0.29*100 28.999999999999996): it is that integer, as the ratio written
// in decimal gives it.
func (b *budget) allowed(calls int64) int64 {
	x := b.ratio * float64(calls)
	n := math.Floor(x)
	if r := math.Round(x); r > x && r-x <= x*1e-12 {
		n = r
	}
	return max(int64(n), b.min)
}

// refund gives back a retry taken at taken (ticks, the reading tryRetry
// was given) that was then not sent: a later check stopped it, or a layer
// below refused it before sending. A retry whose time slice has left the
// window meanwhile is no longer counted, and is not given back twice.
func (b *budget) refund(taken int64) { b.win.takeBack(taken, false) }

// uncall takes back the call counted at at (ticks, the reading call was
// given) when none of its attempts reached the host: a layer below (an
// open breaker, the throttle, the egress check) or the host's cooldown
// refused each before anything was sent. A call the host never saw earns
// no retries for the calls around it: a breaker that held back a run of
// calls would otherwise let as many more retries through once it closed,
// to a host just out of an outage. As with refund, a call whose slice
// has left the window is no longer counted and is not taken back.
func (b *budget) uncall(at int64) { b.win.takeBack(at, true) }

// takeBack removes one count, of a (calls) or b (retries), from the slice
// of the reading t, if that slice is still counted and has one.
func (w *window) takeBack(t int64, a bool) {
	idx := t / w.slice
	bk := &w.buckets[idx%windowBuckets]
	ctr := &bk.b
	if a {
		ctr = &bk.a
	}
	for {
		cur := ctr.Load()
		if cur <= 0 || bk.epoch.Load() != idx {
			return
		}
		if ctr.CompareAndSwap(cur, cur-1) {
			return
		}
	}
}

// budgetCharge is the retry a call took from its host's budget and has not
// sent yet.
type budgetCharge struct {
	b   *budget
	at  int64
	set bool
}

// refund gives the charge back, if there is one.
func (c *budgetCharge) refund() {
	if c.set {
		c.b.refund(c.at)
		c.set = false
	}
}

// windowBuckets is the number of slices a window is counted in.
const windowBuckets = 10

// epochClearing is a bucket's epoch while a caller zeroes its counts for
// a new slice: no slice, and not older than one (reset's MinInt64 is).
const epochClearing = math.MinInt64 + 1

// window holds two event counters (a, b) over a sliding time window, in
// windowBuckets lock-free slices. A slice's bucket is zeroed before its
// epoch names the slice (epochClearing meanwhile), so no count added for
// the slice is lost to the zeroing.
type window struct {
	slice   int64 // nanoseconds per bucket
	buckets [windowBuckets]windowBucket
}

type windowBucket struct {
	epoch atomic.Int64 // index of the time slice the counts belong to
	a, b  atomic.Int64
}

func (w *window) init(d time.Duration) {
	w.slice = max(int64(d)/windowBuckets, 1)
}

// bucket returns the bucket of the time slice now falls in, clearing it
// first when it still holds an older slice's counts. It returns nil when
// the bucket already holds a later slice: now is a reading older than the
// window (an attempt counted in the slice it started in, which ran longer
// than the window), whose slice is no longer counted. Taking the bucket
// back for it would clear the current slice's counts.
func (w *window) bucket(now int64) *windowBucket {
	idx := now / w.slice
	bk := &w.buckets[idx%windowBuckets]
	for {
		e := bk.epoch.Load()
		switch {
		case e == idx:
			return bk
		case e == epochClearing:
			runtime.Gosched() // another caller is clearing it: see what for
		case e > idx:
			return nil
		case bk.epoch.CompareAndSwap(e, epochClearing):
			// The counts are zeroed before the slice is published: a
			// count added after the epoch said idx and before the old
			// counts were zeroed (a retry taken) was lost.
			bk.a.Store(0)
			bk.b.Store(0)
			bk.epoch.Store(idx)
			return bk
		}
	}
}

// add adds da and db to the counts at now (ticks, see clock); nothing
// when now's slice has left the window.
func (w *window) add(now, da, db int64) {
	bk := w.bucket(now)
	if bk == nil {
		return
	}
	if da != 0 {
		bk.a.Add(da)
	}
	if db != 0 {
		bk.b.Add(db)
	}
}

// totals sums the counts of the window ending at now.
func (w *window) totals(now int64) (a, b int64) {
	idx := now / w.slice
	for i := range w.buckets {
		bk := &w.buckets[i]
		if e := bk.epoch.Load(); e > idx-windowBuckets && e <= idx {
			a += bk.a.Load()
			b += bk.b.Load()
		}
	}
	return a, b
}

// totalsThrough is totals with the slices after now's counted too: a
// caller whose reading is a little older than another's (the two
// straddle a slice's end) sees the other's counts, which totals leaves
// out.
func (w *window) totalsThrough(now int64) (a, b int64) {
	idx := now / w.slice
	for i := range w.buckets {
		bk := &w.buckets[i]
		if e := bk.epoch.Load(); e > idx-windowBuckets {
			a += bk.a.Load()
			b += bk.b.Load()
		}
	}
	return a, b
}

// left reports whether the time slice of the reading t has left the window
// at the reading now (ticks): totals(now) no longer counts it.
func (w *window) left(t, now int64) bool {
	return t/w.slice <= now/w.slice-windowBuckets
}

// reset forgets every count.
func (w *window) reset() {
	for i := range w.buckets {
		w.buckets[i].epoch.Store(math.MinInt64)
	}
}
