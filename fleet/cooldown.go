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
	// Timeout bounds each Redis call. Zero: DefaultTimeout.
	Timeout time.Duration
	// ProbeInterval: once a call has failed, Redis is marked down and
	// only one call per interval tries it again. Zero:
	// DefaultProbeInterval.
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
	MaxHosts int
	// MeterProvider creates MetricDegraded and MetricRedisErrors. Nil:
	// the global provider.
	MeterProvider metric.MeterProvider
}

// CooldownStore is a transport.CooldownStore shared by every replica
// through Redis (RetryConfig.Cooldowns): a 429, a 503 with Retry-After or
// a RateLimit r=0 seen by one replica keeps all of them from sending to
// that host until the cooldown ends.
//
// Each host has one key whose TTL is the remaining cooldown; replicas
// convert it to a deadline on their own clock (now + PTTL), so their
// clocks need not agree. SetCooldown extends the key atomically (a Lua
// script keeps the later of the two ends) and updates the local cache at
// once. CooldownUntil serves from the local cache and reads the key again
// (one PTTL) when the cached value is older than RefreshInterval; only one
// caller per host does so, the others keep the cached value meanwhile.
//
// Staleness bound: a cooldown set by another replica is honoured here at
// the latest RefreshInterval plus one Redis round trip (at most Timeout)
// after it was written; the first request to a host always reads Redis.
// A Redis call costs at most Timeout, on the request that makes it.
//
// When Redis is unavailable the store marks it down and applies its
// Policy until a probe (one call per ProbeInterval) succeeds:
// FallBackLocal (default) keeps the cached cooldowns and the ones this
// replica sets (fail open: the fleet may then send more than a throttled
// server wanted); FailClosed reports a cooldown until the next probe. A
// cooldown set locally during an outage is written to Redis on the first
// refresh after it, if it has not ended. MetricDegraded shows the state;
// transport.CooldownStore has no context, so no span event is added.
//
// The store is safe for concurrent use.
type CooldownStore struct {
	c       redis.UniversalClient
	prefix  string
	refresh time.Duration
	max     int
	h       *health

	mu    sync.RWMutex
	hosts map[string]*coolHost
}

var _ transport.CooldownStore = (*CooldownStore)(nil)

type coolHost struct {
	until      atomic.Int64 // unix nanoseconds, this replica's clock; 0: none
	fetched    atomic.Int64 // when Redis was last read or written for it
	refreshing atomic.Bool
}

// extendScript sets the key to expire in ARGV[1] ms unless it already
// expires later, and returns the resulting remaining time in ms.
var extendScript = redis.NewScript(`
local want = tonumber(ARGV[1])
local cur = redis.call('PTTL', KEYS[1])
if cur < want then
  redis.call('SET', KEYS[1], '1', 'PX', want)
  return want
end
return cur
`)

// NewCooldownStore returns a CooldownStore on c, which the caller owns.
// A go-redis Client, ClusterClient or Ring must have
// ContextTimeoutEnabled set. Bad options are a *ConfigError.
func NewCooldownStore(c redis.UniversalClient, opts CooldownOptions) (*CooldownStore, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	if opts.RefreshInterval < 0 {
		return nil, configError("RefreshInterval", "must not be negative")
	}
	if opts.MaxHosts < 0 {
		return nil, configError("MaxHosts", "must not be negative")
	}
	if opts.Policy == PolicyDefault {
		opts.Policy = FallBackLocal
	}
	h, err := newHealth("cooldown", opts.Policy, opts.Timeout, opts.ProbeInterval, opts.MeterProvider)
	if err != nil {
		return nil, err
	}
	s := &CooldownStore{c: c, prefix: opts.Prefix, refresh: opts.RefreshInterval, max: opts.MaxHosts, h: h,
		hosts: make(map[string]*coolHost)}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.refresh == 0 {
		s.refresh = DefaultRefreshInterval
	}
	if s.max == 0 {
		s.max = transport.DefaultMaxHosts
	}
	return s, nil
}

// CooldownUntil implements transport.CooldownStore.
func (s *CooldownStore) CooldownUntil(host string) time.Time {
	return s.CooldownUntilAt(host, time.Now())
}

// CooldownUntilAt implements transport.CooldownStoreAt: CooldownUntil with
// the caller's clock reading (the retry layer has one).
func (s *CooldownStore) CooldownUntilAt(host string, now time.Time) time.Time {
	e := s.host(host)
	n := now.UnixNano()
	if n-e.fetched.Load() >= int64(s.refresh) && e.refreshing.CompareAndSwap(false, true) {
		if s.h.try(now) {
			s.read(host, e, now)
		}
		e.refreshing.Store(false)
	}
	u := e.until.Load()
	if s.h.policy == FailClosed && s.h.down.Load() {
		u = max(u, s.h.nextProbe.Load())
	}
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, u)
}

// SetCooldown implements transport.CooldownStore: the local cache takes
// until at once, and Redis is told (one call, at most Timeout) unless it
// is marked down.
func (s *CooldownStore) SetCooldown(host string, until time.Time) {
	now := time.Now()
	e := s.host(host)
	extend(&e.until, until.UnixNano())
	if !until.After(now) || !s.h.try(now) {
		return
	}
	s.write(host, e, until, now)
}

// read refreshes e from Redis, and writes a local cooldown that Redis
// does not have (set during an outage) back to it.
func (s *CooldownStore) read(host string, e *coolHost, now time.Time) {
	ctx, cancel := s.h.ctx(context.Background())
	pttl, err := s.c.PTTL(ctx, s.prefix+"cooldown:"+host).Result()
	cancel()
	if err != nil {
		s.h.failed(time.Now())
		return
	}
	s.h.ok()
	e.fetched.Store(now.UnixNano())
	remote := int64(0)
	if pttl > 0 {
		// go-redis returns PTTL as a Duration.
		remote = now.Add(pttl).UnixNano()
		extend(&e.until, remote)
	}
	// Written back when ours ends noticeably later (more than a
	// millisecond, Redis's resolution) than what Redis has.
	if local := e.until.Load(); local > now.UnixNano() && local-remote > int64(time.Millisecond) {
		s.write(host, e, time.Unix(0, local), now)
	}
}

// write extends host's key to until and caches the result.
func (s *CooldownStore) write(host string, e *coolHost, until, now time.Time) {
	ms := (until.Sub(now) + time.Millisecond - 1) / time.Millisecond
	ctx, cancel := s.h.ctx(context.Background())
	got, err := extendScript.Run(ctx, s.c, []string{s.prefix + "cooldown:" + host}, int64(ms)).Int64()
	cancel()
	if err != nil {
		s.h.failed(time.Now())
		return
	}
	s.h.ok()
	e.fetched.Store(now.UnixNano())
	if got > 0 {
		extend(&e.until, now.Add(time.Duration(got)*time.Millisecond).UnixNano())
	}
}

// Stats returns the store's Redis call counts and whether Redis is marked
// down.
func (s *CooldownStore) Stats() Stats { return s.h.stats() }

// host returns host's cache entry, creating it (and evicting when full).
func (s *CooldownStore) host(host string) *coolHost {
	s.mu.RLock()
	e, ok := s.hosts[host]
	s.mu.RUnlock()
	if ok {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.hosts[host]; ok {
		return e
	}
	if len(s.hosts) >= s.max {
		s.evict()
	}
	e = &coolHost{}
	s.hosts[host] = e
	return e
}

// evict drops ended cooldowns, then, if the cache is still full, entries
// in map order. An evicted host is read from Redis again on next use, so
// eviction loses only this replica's unwritten (outage) cooldowns.
func (s *CooldownStore) evict() {
	now := time.Now().UnixNano()
	for h, e := range s.hosts {
		if e.until.Load() <= now {
			delete(s.hosts, h)
		}
	}
	for h := range s.hosts {
		if len(s.hosts) < s.max {
			break
		}
		delete(s.hosts, h)
	}
}

// extend moves *a to u if u is later.
func extend(a *atomic.Int64, u int64) {
	for {
		old := a.Load()
		if u <= old || a.CompareAndSwap(old, u) {
			return
		}
	}
}

// ReportDegraded implements transport.DegradationReporter: the layer using
// the store adds EventDegraded to the request's span while Redis is down.
func (s *CooldownStore) ReportDegraded(ctx context.Context) { s.h.reportDegraded(ctx) }
