package fleet

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/securecall/securecall/transport"
)

// DefaultRefreshInterval is how long a CooldownStore serves a host's
// cooldown from its local cache before reading Redis again.
const DefaultRefreshInterval = 100 * time.Millisecond

// CooldownOptions configures a CooldownStore. The zero value is usable.
type CooldownOptions struct {
	// Prefix starts every key: Prefix + "cooldown:" + host. Zero:
	// DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis call. Zero: DefaultTimeout;
	// under a millisecond (no Redis call finishes in it): a *ConfigError.
	Timeout time.Duration
	// ProbeInterval: once a call has failed, Redis is marked down and
	// only one call per interval tries it again. Zero:
	// DefaultProbeInterval. Under a millisecond
	// (every call of an outage would wait out the Timeout): a *ConfigError.
	ProbeInterval time.Duration
	// RefreshInterval is how long a host's cooldown is served from the
	// local cache before a read goes to Redis: the staleness bound. Zero:
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Policy while Redis is unavailable. PolicyDefault means
	// FallBackLocal: cooldowns this replica saw (or read from Redis
	// before the outage) keep applying; others' new ones are not seen.
	// FailClosed reports every host as cooling down until the next probe,
	// so the retry layer waits or fails with transport.ErrRateLimited.
	Policy Policy
	// MaxHosts bounds the hosts cached. Zero: transport.DefaultMaxHosts.
	// When it is reached, hosts whose cooldown has ended are dropped
	// first, then the one whose cooldown ends soonest.
	MaxHosts int
	// MeterProvider creates MetricDegraded, MetricRedisErrors and
	// MetricPoolExhausted. Nil: the global provider.
	MeterProvider metric.MeterProvider
}

// CooldownStore is a transport.CooldownStore shared by every replica
// through Redis (RetryConfig.Cooldowns): a 429, a 503 with Retry-After or
// a RateLimit r=0 seen by one replica keeps all of them from sending to
// that host until the cooldown ends.
//
// Each host has one key whose TTL is the remaining cooldown; replicas
// convert it to a deadline on their own clock (now + PTTL), so their
// clocks need not agree. The cached end runs on the monotonic clock (a
// step of the wall clock neither stretches nor shortens it) and is
// answered in the frame of the caller's clock reading. SetCooldown extends the key atomically (a Lua
// script keeps the later of the two ends) and updates the local cache at
// once. CooldownUntil serves from the local cache and reads the key again
// (one PTTL, in the background: the cached value answers meanwhile) when
// the cached value is older than RefreshInterval; one refresh per host at
// a time.
//
// Staleness bound: a cooldown set by another replica is honoured here at
// the latest RefreshInterval plus one Redis round trip (at most Timeout)
// after it was written. The first request to a host reads Redis itself
// (at most Timeout) so that a fleet cooldown holds from it on, and so does
// the first request after the host was idle for longer than
// RefreshInterval + Timeout (no background refresh ran meanwhile); while
// the host is in use no request waits for Redis. SetCooldown's write (at
// most Timeout) is on the request that saw the throttle signal.
//
// When Redis is unavailable the store marks it down and applies its
// Policy until a probe (one call per ProbeInterval) succeeds:
// FallBackLocal (default) keeps the cached cooldowns and the ones this
// replica sets (fail open: the fleet may then send more than a throttled
// server wanted); FailClosed reports a cooldown until the next probe. A
// cooldown set locally during an outage is written to Redis on the first
// refresh after it, if it has not ended.
//
// Redis is the source of truth: this replica writes a cooldown it set
// once (a read writes back only one Redis has not acknowledged), and a
// read replaces the cached end with Redis's, so a key deleted in Redis
// (an operator putting the host back into service) is dropped by every
// replica within the staleness bound and written back by none.
// MetricDegraded shows the state,
// and the retry layer adds EventDegraded to each request's span while it
// lasts (ReportDegraded).
//
// The store is safe for concurrent use.
type CooldownStore struct {
	keys    untilKeys
	prefix  string
	refresh time.Duration
	h       *health
	hosts   hostMap[coolEntry]

	inflight atomic.Int64  // background refreshes running
	waits    atomic.Uint64 // reads that may have waited for Redis (Waits)
}

var (
	_ transport.CooldownStore = (*CooldownStore)(nil)
	_ transport.WaitCounter   = (*CooldownStore)(nil)
)

// Waits implements transport.WaitCounter: how many calls may have waited
// for Redis (a host's first read, its read after an idle spell, the probe
// while Redis is down, the write of a new cooldown). The layers read the clock again after such a call
// only.
func (s *CooldownStore) Waits() uint64 { return s.waits.Load() }

// NewCooldownStore returns a CooldownStore on c, which the caller owns.
// A go-redis Client, ClusterClient or Ring must have
// ContextTimeoutEnabled set and a PoolTimeout below the store's Timeout.
// Bad options are a *ConfigError.
func NewCooldownStore(c redis.UniversalClient, opts CooldownOptions) (*CooldownStore, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	uo, err := untilOptions{opts.Prefix, opts.RefreshInterval, opts.MaxHosts}.resolve()
	if err != nil {
		return nil, err
	}
	if opts.Policy == PolicyDefault {
		opts.Policy = FallBackLocal
	}
	h, err := newHealth("cooldown", opts.Policy, opts.Timeout, opts.ProbeInterval, opts.MeterProvider)
	if err != nil {
		return nil, err
	}
	if err := checkPoolTimeout(c, "cooldown", h.timeout); err != nil {
		return nil, err
	}
	s := &CooldownStore{keys: untilKeys{c: c, h: h}, prefix: uo.prefix, refresh: uo.refresh, h: h}
	s.hosts.max = uo.maxHosts
	s.hosts.end = func(e *coolEntry) int64 { return e.until.Load() }
	return s, nil
}

// CooldownUntil implements transport.CooldownStore.
// A zero CooldownStore (not made by NewCooldownStore) knows of no
// cooldown; the layers and client options that take a CooldownStore
// refuse it.
func (s *CooldownStore) CooldownUntil(host string) time.Time {
	if s.h == nil {
		return time.Time{}
	}
	return s.CooldownUntilAt(host, s.h.clk.Now())
}

// CooldownUntilAt implements transport.CooldownStoreAt: CooldownUntil with
// the caller's clock reading (the retry layer has one).
func (s *CooldownStore) CooldownUntilAt(host string, now time.Time) time.Time {
	if s.h == nil {
		return time.Time{}
	}
	n := s.h.clk.Mono(now)
	e := s.hosts.get(host, n)
	switch {
	case s.mustRead(e, n):
		// First use of the host, a cache older than a background refresh
		// can explain (the host was idle), or Redis marked down: read
		// Redis now (at most Timeout), so that a cooldown another replica
		// set holds from this replica's first requests on (concurrent
		// first requests wait for the one read) and within the staleness
		// bound after an idle spell, and the request that probes a
		// recovered Redis gets its answer. At most one read per
		// ProbeInterval while down.
		s.waits.Add(1) // before the lock: waiting for another's read counts
		e.first.Lock()
		if s.mustRead(e, n) && s.h.try(now) {
			s.keys.read(s.key(host), &e.untilEntry, now)
		}
		e.first.Unlock()
	case e.stale(n, s.refresh):
		// A refresh: in the background, the cached end answers meanwhile,
		// so no request waits for Redis.
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Add(-1)
			defer e.refreshing.Store(false)
			s.keys.read(s.key(host), &e.untilEntry, s.h.clk.Now())
		}()
	}
	u := e.until.Load()
	if s.h.policy == FailClosed && s.h.down.Load() {
		u = max(u, s.h.nextProbe.Load())
	}
	if u == 0 {
		return time.Time{}
	}
	// In now's frame: a cached end keeps its distance from now on the
	// monotonic clock whatever the wall clock did since it was set.
	return s.h.clk.Time(u, now)
}

// mustRead reports whether the request at now must read host's key itself
// rather than answer from e: the host's first use, Redis marked down, or a
// cache older than RefreshInterval + Timeout. While the host is in use a
// background refresh keeps the cache younger than that; an older one means
// the host was idle, and a cooldown written since the last read would
// otherwise be missed by this request (the staleness bound is
// RefreshInterval + one Redis round trip after the write).
func (s *CooldownStore) mustRead(e *coolEntry, now int64) bool {
	f := e.fetched.Load()
	return f == 0 || s.h.down.Load() || now-f > int64(s.refresh+s.h.timeout)
}

// SetCooldown implements transport.CooldownStore: the local cache takes
// until at once, and Redis is told (one call, at most Timeout) unless it
// is marked down. A zero CooldownStore records nothing.
func (s *CooldownStore) SetCooldown(host string, until time.Time) {
	if s.h == nil {
		return
	}
	now := s.h.clk.Now()
	n := s.h.clk.Mono(now)
	e := s.hosts.get(host, n)
	u := s.h.clk.Ticks(until, now)
	if u <= n {
		return
	}
	e.setOwn(u)
	if !s.h.try(now) {
		return // unsynced: the first read after recovery writes it
	}
	s.waits.Add(1) // the write waits for Redis (Waits)
	s.keys.write(s.key(host), &e.untilEntry, u, now)
}

// coolEntry is one host's cached cooldown.
type coolEntry struct {
	untilEntry
	first sync.Mutex // held while the host's first read (or a probe) runs
}

func (s *CooldownStore) key(host string) string { return s.prefix + "cooldown:" + host }

// Stats returns the store's Redis call counts and whether Redis is marked
// down.
func (s *CooldownStore) Stats() Stats { return s.h.stats() }

// ReportDegraded implements transport.DegradationReporter: the layer using
// the store adds EventDegraded to the request's span while Redis is down.
func (s *CooldownStore) ReportDegraded(ctx context.Context) { s.h.reportDegraded(ctx) }
