package transport

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// DefaultMaxHosts is the number of hosts whose state a per-host registry
// (retry budget and cooldown, breaker, throttle) keeps when its config
// leaves the limit at zero. Past it, the least recently used hosts are
// forgotten.
const DefaultMaxHosts = 1024

// Names of the per-host registries' instrument and its attributes.
const (
	// MetricHostsForgotten counts hosts whose state a full per-host
	// registry forgot to make room for a new host (unit "{host}").
	// Attributes: HostsLayerKey, HostsBusyKey; never the host (a series
	// per host would be unbounded). A rising count with busy=true means
	// host churn (a webhook sender, a crawler, a caller choosing hosts) is
	// lifting open breakers, cooldowns or retry budgets: raise MaxHosts.
	// The throttle forgets only idle hosts (busy=false): when every host
	// it holds is busy it refuses the new one instead (see ThrottleHosts),
	// which is not counted here.
	MetricHostsForgotten = "securecall.client.hosts.forgotten"

	// HostsLayerKey: the registry that forgot the host ("breaker",
	// "retry", "throttle", or "cooldowns" for a Cooldowns store).
	HostsLayerKey = attribute.Key("securecall.hosts.layer")
	// HostsBusyKey: whether the host still had protective state in force
	// (an open or half-open breaker; a cooldown, or retries counted in the
	// budget's window; never for the throttle, which forgets no host with
	// slots in use, a lowered rate or a token bucket below full).
	HostsBusyKey = attribute.Key("securecall.hosts.busy")
)

// CooldownStore holds, per host (a HostKey), the time before which no
// request should be sent to it: a cooldown a server asked for with
// Retry-After or a RateLimit field with r=0. The retry layer reads it
// before every attempt and extends it from every answer; implementations
// must be safe for concurrent use and cheap to read (it is on every
// request's path). NewCooldowns is the in-memory one; a fleet-wide store
// can share the cooldowns of many processes.
type CooldownStore interface {
	// CooldownUntil returns the end of host's cooldown, or the zero time
	// when there is none.
	CooldownUntil(host string) time.Time
	// SetCooldown asks that nothing be sent to host before until. A store
	// keeps the later of until and the cooldown it already has.
	SetCooldown(host string, until time.Time)
}

// Cooldowns is the in-memory CooldownStore: one atomic timestamp per host
// in a bounded registry. Reads take no lock. Ends are kept on the
// monotonic clock: a step of the wall clock neither stretches nor shortens
// a cooldown. It implements CooldownStoreAt.
type Cooldowns struct {
	reg registry[cooldownEntry]
	clk clock
}

type cooldownEntry struct {
	until atomic.Int64 // ticks (see clock); 0: none
}

// NewCooldowns returns an empty in-memory CooldownStore keeping at most
// maxHosts hosts (0: DefaultMaxHosts; the least recently used host is
// forgotten first, hosts whose cooldown has ended before those with one
// in force). Forgotten hosts are counted in MetricHostsForgotten on
// otel.GetMeterProvider(); NewCooldownsWith takes another provider.
func NewCooldowns(maxHosts int) *Cooldowns {
	return newCooldowns(maxHosts, nil)
}

// CooldownsConfig configures an in-memory Cooldowns (NewCooldownsWith).
type CooldownsConfig struct {
	// MaxHosts bounds the number of hosts kept. Zero: DefaultMaxHosts.
	MaxHosts int
	// MeterProvider creates MetricHostsForgotten. nil:
	// otel.GetMeterProvider(). One whose counter panics (a bug in it)
	// has its panic go on once the cooldown is set.
	MeterProvider metric.MeterProvider
}

// NewCooldownsWith is NewCooldowns configured by cfg. A negative
// MaxHosts is a *ConfigError.
func NewCooldownsWith(cfg CooldownsConfig) (*Cooldowns, error) {
	if cfg.MaxHosts < 0 {
		return nil, configErrorf("CooldownsConfig.MaxHosts", nil, "must not be negative, got %d", cfg.MaxHosts)
	}
	if err := typedNil("CooldownsConfig.MeterProvider", cfg.MeterProvider); err != nil {
		return nil, err
	}
	return newCooldowns(cfg.MaxHosts, cfg.MeterProvider), nil
}

func newCooldowns(maxHosts int, mp metric.MeterProvider) *Cooldowns {
	c := &Cooldowns{clk: sysClock}
	c.reg.init(maxHosts, func(string) *cooldownEntry { return new(cooldownEntry) })
	// A cooldown in force is forgotten last: many other hosts set or
	// read must not send to a host that asked to be left alone.
	c.reg.busy = func(e *cooldownEntry) bool { return e.until.Load() > c.clk.Mono(c.clk.Now()) }
	c.reg.forgotten = newForgetCounter(meterOf(mp), "cooldowns")
	return c
}

// forgetCounter records MetricHostsForgotten for one registry, with its
// two attribute sets made once.
type forgetCounter struct {
	c          metric.Int64Counter
	idle, busy []metric.AddOption
}

// newForgetCounter returns layer's counter, nil when meter cannot make
// it (the error goes to otel.Handle).
func newForgetCounter(meter metric.Meter, layer string) *forgetCounter {
	c, err := meter.Int64Counter(MetricHostsForgotten, metric.WithUnit("{host}"),
		metric.WithDescription("Hosts whose state a full securecall per-host registry forgot to make room for another."))
	if err != nil || c == nil {
		otelHandle(err)
		return nil
	}
	set := func(busy bool) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(HostsLayerKey.String(layer), HostsBusyKey.Bool(busy)))}
	}
	return &forgetCounter{c: c, idle: set(false), busy: set(true)}
}

// record counts idle and busy forgotten hosts. It runs after an
// eviction, outside the registry's lock.
func (f *forgetCounter) record(idle, busy int) {
	if f == nil || idle+busy == 0 {
		return
	}
	ctx := context.Background()
	if !f.c.Enabled(ctx) {
		return
	}
	if idle > 0 {
		f.c.Add(ctx, int64(idle), f.idle...)
	}
	if busy > 0 {
		f.c.Add(ctx, int64(busy), f.busy...)
	}
}

// CooldownUntil implements CooldownStore. The end is in the frame of the
// clock as it reads now (with a monotonic reading).
func (c *Cooldowns) CooldownUntil(host string) time.Time {
	if e := c.reg.lookup(host); e == nil || e.until.Load() == 0 {
		return time.Time{}
	}
	return c.CooldownUntilAt(host, c.clk.Now())
}

// CooldownUntilAt implements CooldownStoreAt: the end of host's cooldown
// in the frame of the clock reading now (the zero time when there is
// none).
func (c *Cooldowns) CooldownUntilAt(host string, now time.Time) time.Time {
	if c.clk.Now == nil {
		return time.Time{}
	}
	e := c.reg.lookup(host)
	if e == nil {
		return time.Time{}
	}
	if u := e.until.Load(); u != 0 {
		return c.clk.Time(u, now)
	}
	return time.Time{}
}

// SetCooldown implements CooldownStore. until is taken in the frame of
// the clock as it reads now (a time.Now reading plus a wait, or a date).
// A zero Cooldowns (not made by NewCooldowns) records nothing; the layers
// and client options that take a CooldownStore refuse it.
func (c *Cooldowns) SetCooldown(host string, until time.Time) {
	if c.clk.Now == nil {
		return
	}
	now := c.clk.Now()
	// The cooldown is set before the forgotten hosts are counted: a
	// counter of the caller's that panics does not lose it.
	e, idle, busy := c.reg.take(host, c.clk.Mono(now))
	e.extend(c.clk.Ticks(until, now))
	c.reg.forgotten.record(idle, busy)
}

// extend moves the cooldown's end to u if u is later.
func (e *cooldownEntry) extend(u int64) {
	for {
		old := e.until.Load()
		if u <= old || e.until.CompareAndSwap(old, u) {
			return
		}
	}
}

// jitter returns d plus a random extra of up to frac x d, so that many
// clients told to come back at the same instant spread out.
func jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	extra := time.Duration(rand.Float64() * frac * float64(d))
	if extra < 0 || d+extra < d { // overflow
		return d
	}
	return d + extra
}

// registry is a bounded per-host map with lock-free reads: lookups load
// an immutable map through an atomic pointer; adding a host copies the map
// under a mutex (hosts are few and added rarely). Entries record when they
// were last used, coarsely, in ticks of the owner's clock (monotonic: a
// step of the wall clock does not make a host used since look older than
// idle ones), so the least recently used can be evicted when the registry
// is full.
type registry[V any] struct {
	m     atomic.Pointer[map[string]*regEntry[V]]
	mu    sync.Mutex
	max   int
	newFn func(host string) *V
	// busy, when set, reports an entry whose state must not be forgotten
	// while others can be (slots in use, a lowered rate, an open
	// breaker): eviction takes idle entries first.
	busy func(*V) bool
	// keepBusy: a busy entry is never evicted. When the registry is full
	// of them, getFor returns nil and the caller refuses the request (fails
	// closed) rather than forget a host's state.
	keepBusy bool
	// wake, when set (with keepBusy), returns the earliest time (ticks)
	// a busy entry could become idle with time passing alone (0: it may
	// be idle now; math.MaxInt64: only an event can make it idle). Every
	// event that may make an entry idle sooner (a slot freed, a token given
	// back, a rate lowered) calls changed. A registry found full of busy
	// entries then refuses new hosts without scanning again until the
	// earliest wake or the next event.
	wake func(*V) int64
	// allBusy: the last scan found every entry busy; it is set before the
	// scan reads the entries, so that changed (which clears it after
	// changing an entry) during the scan voids the scan's verdict.
	// busyUntil: the earliest wake of that scan (0 while it runs).
	allBusy   atomic.Bool
	busyUntil atomic.Int64
	// forgotten, when set, counts the entries eviction takes, outside
	// the lock (MetricHostsForgotten).
	forgotten *forgetCounter
}

type regEntry[V any] struct {
	v    *V
	used atomic.Int64 // ticks (see clock), refreshed at most every touchEvery
}

// touchEvery is how stale an entry's last-use time may get before a
// lookup refreshes it; refreshing on every request would make every
// caller write the same cache line.
const touchEvery = int64(time.Second)

func (r *registry[V]) init(max int, newFn func(string) *V) {
	if max <= 0 {
		max = DefaultMaxHosts
	}
	r.max, r.newFn = max, newFn
}

// lookup returns host's entry, or nil when it has none.
func (r *registry[V]) lookup(host string) *V {
	if m := r.m.Load(); m != nil {
		if e, ok := (*m)[host]; ok {
			return e.v
		}
	}
	return nil
}

// getFor returns host's entry, creating it when missing; now (ticks of
// the owner's clock) refreshes its last-use time. With keepBusy, it
// returns nil when host has no entry and the registry is full of busy
// ones. It counts the entries it forgot to make room (forgotten) with
// req, a RoundTrip's request, in hand: a counter of the caller's that
// panics (a bug in its MeterProvider) has req's body closed, as
// RoundTrip must on every path, and its panic goes on unchanged (the
// host's entry is made: the next call finds it).
func (r *registry[V]) getFor(host string, now int64, req *http.Request) *V {
	v, idle, busy := r.take(host, now)
	if idle+busy != 0 && r.forgotten != nil {
		returned := false
		defer func() {
			if !returned {
				closeBody(req)
			}
		}()
		r.forgotten.record(idle, busy)
		returned = true
	}
	return v
}

// take is getFor without the count of the entries it forgot to make
// room for host's (idle and busy), which its caller records.
func (r *registry[V]) take(host string, now int64) (v *V, idle, busy int) {
	if m := r.m.Load(); m != nil {
		if e, ok := (*m)[host]; ok {
			if now-e.used.Load() > touchEvery {
				e.used.Store(now)
			}
			return e.v, 0, 0
		}
	}
	if r.refusing(now) {
		return nil, 0, 0
	}
	return r.add(host, now)
}

// refusing reports that, as of now (ticks), the registry is known to be
// full of busy entries (see wake).
func (r *registry[V]) refusing(now int64) bool {
	return r.allBusy.Load() && now < r.busyUntil.Load()
}

// changed tells the registry that an entry may have become idle sooner
// than its wake said. It costs one atomic load unless a refusal is cached.
func (r *registry[V]) changed() {
	if r.allBusy.Load() {
		r.allBusy.Store(false)
	}
}

// add creates host's entry (see getFor); idle and busy are the numbers of
// entries evicted to make room, by whether busy reported them.
func (r *registry[V]) add(host string, now int64) (v *V, idle, busy int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m.Load()
	if old != nil {
		if e, ok := (*old)[host]; ok {
			return e.v, 0, 0
		}
	}
	n := 0
	if old != nil {
		n = len(*old)
	}
	cache := r.keepBusy && r.wake != nil && n >= r.max
	if cache {
		if r.refusing(now) {
			return nil, 0, 0 // another caller just scanned
		}
		r.busyUntil.Store(0)
		r.allBusy.Store(true)
	}
	next := make(map[string]*regEntry[V], n+1)
	if old != nil {
		for k, e := range *old {
			next[k] = e
		}
	}
	if len(next) >= r.max {
		idle, busy = evictOldest(next, len(next)-r.max+1+r.max/8, r.busy, r.keepBusy)
		if len(next) >= r.max {
			// keepBusy, and every entry is busy: until the first may be
			// idle, or an event, refuse without scanning again.
			if cache {
				w := int64(math.MaxInt64)
				for _, e := range next {
					w = min(w, r.wake(e.v))
				}
				r.busyUntil.Store(w)
			}
			return nil, 0, 0 // nothing was evicted: next is dropped
		}
	}
	if cache {
		r.allBusy.Store(false)
	}
	e := &regEntry[V]{v: r.newFn(host)}
	e.used.Store(now)
	next[host] = e
	r.m.Store(&next)
	return e.v, idle, busy
}

// evictOldest removes the k least recently used entries of m, those busy
// reports (when set) last, or, with keepBusy, never. It returns the
// numbers of idle and busy entries removed.
func evictOldest[V any](m map[string]*regEntry[V], k int, busy func(*V) bool, keepBusy bool) (nIdle, nBusy int) {
	if k <= 0 {
		return 0, 0
	}
	if k >= len(m) && (busy == nil || !keepBusy) {
		for _, e := range m {
			if busy != nil && busy(e.v) {
				nBusy++
			} else {
				nIdle++
			}
		}
		clear(m)
		return nIdle, nBusy
	}
	type aged struct {
		host string
		busy bool
		used int64
	}
	all := make([]aged, 0, len(m))
	for h, e := range m {
		all = append(all, aged{h, busy != nil && busy(e.v), e.used.Load()})
	}
	slices.SortFunc(all, func(a, b aged) int {
		if a.busy != b.busy {
			if a.busy {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.used, b.used)
	})
	for _, a := range all[:min(k, len(all))] {
		if a.busy && keepBusy {
			break // busy entries sort last: none left to take
		}
		delete(m, a.host)
		if a.busy {
			nBusy++
		} else {
			nIdle++
		}
	}
	return nIdle, nBusy
}
