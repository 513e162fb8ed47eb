package fleet

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/securecall/securecall/transport"
)

// BreakerOptions configures a BreakerStore. The zero value is usable.
type BreakerOptions struct {
	// Prefix starts every key: Prefix + "breaker:" + host. Zero:
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
	// RefreshInterval is how long a host's open state is served from the
	// local cache before it is read from Redis again (in the background):
	// the staleness bound. Zero: DefaultRefreshInterval.
	RefreshInterval time.Duration
	// MaxHosts bounds the hosts cached. Zero: transport.DefaultMaxHosts.
	// When it is reached, hosts whose open state has ended are dropped
	// first, then the one whose open state ends soonest (a write to Redis
	// already under way still happens).
	MaxHosts int
	// MeterProvider creates MetricDegraded, MetricRedisErrors and
	// MetricPoolExhausted. Nil: the global provider.
	MeterProvider metric.MeterProvider
}

// BreakerStore is a transport.BreakerStore shared by every replica
// through Redis (transport.BreakerConfig.Store, client.WithBreakerStore):
// when one replica's circuit breaker for a host opens, every replica
// fails fast for that host until the breaker's open end. Only "open until
// T" is shared; each replica counts failures alone, so no request takes a
// lock or makes a Redis call. An opening that only the replica's own
// failures caused (a DNS error, a proxy it cannot reach, its own network
// stack: see transport.BreakerConfig.Store) is not published: one replica
// with a broken resolver does not fail the fleet fast.
//
// Each host has one key whose TTL is the remaining open time; replicas
// convert it to a deadline on their own clock (now + PTTL), so their
// clocks need not agree. The cached end runs on the monotonic clock (a
// step of the wall clock neither stretches nor shortens it) and is
// answered in the frame of the caller's clock reading. Neither method waits for Redis:
//
//   - OpenUntil answers from a local cache (lock-free, no allocation).
//     When a host's entry is older than RefreshInterval, it starts one
//     background read of the key (one PTTL); callers keep the cached value
//     meanwhile.
//   - SetOpenUntil updates the local cache at once and writes the key in
//     the background (a Lua script keeps the later of the two ends), at
//     most one write in flight per host.
//
// Staleness bound: an opening published by another replica is honoured
// here, for a host in use, at the latest RefreshInterval plus one Redis
// round trip (at most Timeout) after it was written. Reads are started by
// requests and never waited for: the first request to a host, and the
// first after the host was idle here, goes on with what this replica
// knows (the read it starts serves the next ones).
//
// When Redis is unavailable the store marks it down and, until a probe
// (one call per ProbeInterval) succeeds, falls back to local state: every
// replica's own breaker still opens and fails fast, the ends it already
// read keep applying, but new openings are not shared (fail open: each
// replica decides alone, so the fleet may send more to a failing host
// than one replica would). There is no fail-closed policy: refusing every
// host because Redis is down would turn a Redis outage into an outage of
// every API. An opening this replica saw during the outage is written to
// Redis on the first refresh after it, if it has not ended. Redis is the
// source of truth, as for CooldownStore: an opening is written once, a
// read replaces the cached end with Redis's, and a key deleted in Redis
// stays deleted (the replica whose own breaker opened still keeps its own
// open state until its half-open probe).
// MetricDegraded and MetricRedisErrors show the state, and the breaker
// layer adds EventDegraded to each request's span while it lasts
// (ReportDegraded); the breaker's own EventBreakerRejected carries
// securecall.breaker.shared.
//
// The store is safe for concurrent use.
type BreakerStore struct {
	keys    untilKeys
	prefix  string
	refresh time.Duration
	h       *health
	hosts   hostMap[breakerEntry]

	inflight atomic.Int64 // background reads and writes running
}

var _ transport.BreakerStore = (*BreakerStore)(nil)

type breakerEntry struct {
	untilEntry
	pending    atomic.Int64 // an own open end not yet written
	publishing atomic.Bool
}

// NewBreakerStore returns a BreakerStore on c, which the caller owns. A
// go-redis Client, ClusterClient or Ring must have ContextTimeoutEnabled
// set and a PoolTimeout below the store's Timeout. Bad options are a
// *ConfigError.
func NewBreakerStore(c redis.UniversalClient, opts BreakerOptions) (*BreakerStore, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	uo, err := untilOptions{opts.Prefix, opts.RefreshInterval, opts.MaxHosts}.resolve()
	if err != nil {
		return nil, err
	}
	h, err := newHealth("breaker", FallBackLocal, opts.Timeout, opts.ProbeInterval, opts.MeterProvider)
	if err != nil {
		return nil, err
	}
	if err := checkPoolTimeout(c, "breaker", h.timeout); err != nil {
		return nil, err
	}
	s := &BreakerStore{keys: untilKeys{c: c, h: h}, prefix: uo.prefix, refresh: uo.refresh, h: h}
	s.hosts.max = uo.maxHosts
	s.hosts.end = func(e *breakerEntry) int64 { return e.until.Load() }
	return s, nil
}

// OpenUntil implements transport.BreakerStore: the end of host's open
// state as this replica knows it (its own, or another replica's read from
// Redis at most RefreshInterval ago), or the zero time.
// A zero BreakerStore (not made by NewBreakerStore) knows of no open
// end; the layers and client options that take a BreakerStore refuse it.
func (s *BreakerStore) OpenUntil(host string) time.Time {
	if s.h == nil {
		return time.Time{}
	}
	return s.OpenUntilAt(host, s.h.clk.Now())
}

// OpenUntilAt implements transport.BreakerStoreAt: OpenUntil with the
// caller's clock reading (the breaker layer has one).
func (s *BreakerStore) OpenUntilAt(host string, now time.Time) time.Time {
	if s.h == nil {
		return time.Time{}
	}
	n := s.h.clk.Mono(now)
	e := s.hosts.get(host, n)
	if e.stale(n, s.refresh) {
		if s.h.try(now) {
			s.inflight.Add(1)
			go s.read(host, e)
		} else {
			e.refreshing.Store(false)
		}
	}
	if u := e.until.Load(); u != 0 {
		// In now's frame (see CooldownStore.CooldownUntilAt).
		return s.h.clk.Time(u, now)
	}
	return time.Time{}
}

// Waits implements transport.WaitCounter: OpenUntil and OpenUntilAt never
// wait for Redis (a host's reads run in the background), so the count
// never moves and the breaker layer keeps its clock reading.
func (s *BreakerStore) Waits() uint64 { return 0 }

// SetOpenUntil implements transport.BreakerStore: the local cache takes
// until at once; Redis is written in the background (at most Timeout per
// call) unless it is marked down, in which case the first refresh after
// recovery writes it. A zero BreakerStore records nothing.
func (s *BreakerStore) SetOpenUntil(host string, until time.Time) {
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
	extend(&e.pending, u)
	if e.publishing.CompareAndSwap(false, true) {
		s.inflight.Add(1)
		go s.publish(host, e)
	}
}

// publish writes e's pending open end, and any that arrives meanwhile.
func (s *BreakerStore) publish(host string, e *breakerEntry) {
	defer s.inflight.Add(-1)
	for {
		if u := e.pending.Swap(0); u != 0 {
			now := s.h.clk.Now()
			if u > s.h.clk.Mono(now) && s.h.try(now) {
				s.keys.write(s.key(host), &e.untilEntry, u, now)
			}
		}
		e.publishing.Store(false)
		if e.pending.Load() == 0 || !e.publishing.CompareAndSwap(false, true) {
			return
		}
	}
}

// read refreshes e from Redis in the background (see untilKeys.read).
func (s *BreakerStore) read(host string, e *breakerEntry) {
	defer s.inflight.Add(-1)
	defer e.refreshing.Store(false)
	s.keys.read(s.key(host), &e.untilEntry, s.h.clk.Now())
}

func (s *BreakerStore) key(host string) string { return s.prefix + "breaker:" + host }

// Stats returns the store's Redis call counts and whether Redis is marked
// down.
func (s *BreakerStore) Stats() Stats { return s.h.stats() }

// ReportDegraded implements transport.DegradationReporter: the layer using
// the store adds EventDegraded to the request's span while Redis is down.
func (s *BreakerStore) ReportDegraded(ctx context.Context) { s.h.reportDegraded(ctx) }
