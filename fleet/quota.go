package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/time/rate"

	"github.com/securecall/securecall/transport"
)

// Quota defaults (zero values of QuotaOptions).
const (
	// DefaultLeaseTTL is how long leased tokens stay usable. The fleet's
	// overshoot bound is Rate × LeaseTTL / Period (see Quota).
	DefaultLeaseTTL = 200 * time.Millisecond
	// DefaultMinBatch is the fewest tokens a lease asks for.
	DefaultMinBatch = 1
	// DefaultMaxBatch is the most tokens a lease asks for (a lease is also
	// capped at a quarter of the limit's Burst, which is what keeps one
	// replica from holding the fleet's quota). Large enough that a replica
	// sending 100,000 requests a second still leases about 10 times a
	// second: every lease is a Redis round trip, and on a small machine the
	// wake-ups cost more than the call.
	DefaultMaxBatch = 10000
	// DefaultQuotaPeriod is a QuotaLimit's Period when zero.
	DefaultQuotaPeriod = time.Second
)

const (
	// leaseBurstDivisor: one lease asks for at most Burst / leaseBurstDivisor
	// tokens (at least 1), so one replica cannot take the whole burst.
	leaseBurstDivisor = 4
	// maxBackoffShift bounds the doubling of the wait between short leases.
	maxBackoffShift = 6
	// maxFlightWaits bounds how many lease flights one TakeQuota waits for
	// before it answers with a retry time (a safety net: each flight asks
	// for at least as many tokens as there are callers waiting).
	maxFlightWaits = 16
	// minRateWindow is the shortest time a lease's consumption rate is
	// measured over.
	minRateWindow = int64(time.Millisecond)
)

// QuotaLimit is the fleet-wide limit of the hosts matching Pattern: Rate
// requests per Period with bursts of up to Burst, enforced by a GCRA
// (github.com/go-redis/redis_rate) in Redis. Every replica must configure
// the same limit for a quota; replicas disagreeing on it share one Redis
// key with different parameters, and the result is undefined.
type QuotaLimit struct {
	// Pattern selects hosts by transport.HostKey: an exact key
	// ("api.example.com", "api.example.com:8443"), "*.example.com" for
	// every subdomain of example.com (not example.com itself), or "*" for
	// every host. Case and a trailing dot of the name ("API.example.com.",
	// "api.example.com.:8443") are ignored, as in the throttle's
	// HostLimit.Pattern; an IPv6 zone is matched as written
	// ("[fe80::1%ETH0]" is not the "eth0" link), as HostKey keeps it. The port is part of the match: a pattern without
	// one matches the scheme's default port only; one with port 80 or 443
	// (never in a HostKey) or a non-ASCII name (a HostKey holds its
	// punycode form) is refused (transport.CheckHostPattern). Ignored in
	// QuotaOptions.Limit.
	Pattern string
	// Key names the quota that all matching hosts share (one Redis key).
	// Empty: each host has a quota of its own. Every QuotaLimit with the
	// same Key must have the same Rate, Period and Burst (after their
	// defaults); NewQuota refuses one that differs.
	Key string
	// Rate is the number of requests allowed per Period, at most one per
	// microsecond (1,000,000 per second). Zero: no fleet quota for the
	// matching hosts (TakeQuota grants at once, no Redis).
	Rate int
	// Period is the quota's period. Zero: DefaultQuotaPeriod (a second).
	// At least a millisecond.
	Period time.Duration
	// Burst is the most requests the fleet may send at once after a quiet
	// spell. Zero: Rate.
	Burst int
}

// QuotaOptions configures a Quota.
type QuotaOptions struct {
	// Limit applies to hosts that match none of Hosts (its Pattern is
	// ignored). The zero value: no quota for those hosts.
	Limit QuotaLimit
	// Hosts lists per-host limits; the first matching Pattern wins. A
	// limit after one whose Pattern matches every host its own does ("*",
	// or "*.example.com" before "api.example.com", or the same pattern
	// twice) would never apply: it is a *ConfigError naming its Pattern.
	Hosts []QuotaLimit
	// Prefix starts every key: the Redis key of a quota is
	// "rate:" + Prefix + "quota:" + host, or "rate:" + Prefix +
	// "quota:key/" + Key for a QuotaLimit with a Key (a host key has no
	// "/", so no host shares a Key's quota by its name); redis_rate adds
	// "rate:". Zero: DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis call. Zero: DefaultTimeout;
	// under a millisecond (no Redis call finishes in it): a *ConfigError.
	Timeout time.Duration
	// ProbeInterval: once a call has failed, Redis is marked down and only
	// one lease per interval tries it again (a quota whose key holds a
	// value the script cannot read leaves Redis up, and only that quota
	// waits the interval). Zero: DefaultProbeInterval. Under a millisecond
	// (every call of an outage would wait out the Timeout): a *ConfigError.
	ProbeInterval time.Duration
	// Policy while Redis is unavailable (leased tokens still valid are
	// used first under both). PolicyDefault means FallBackLocal: each
	// replica grants from a local token bucket of Rate / ExpectedReplicas
	// per Period (burst Burst / ExpectedReplicas, at least 1: with a
	// Burst below ExpectedReplicas the fleet may send one request per
	// replica at once, above Burst). FailClosed
	// refuses with an *Error matching ErrUnavailable (ErrPoolExhausted
	// when the go-redis client's pool had no free connection) and
	// transport.ErrRateLimited.
	Policy Policy
	// ExpectedReplicas is the number of replicas the local share under
	// FallBackLocal divides the quota by; required (positive) with
	// FallBackLocal, ignored with FailClosed. Set it to the most replicas
	// the service runs: with more replicas than this the fleet exceeds the
	// quota while Redis is down.
	ExpectedReplicas int
	// LeaseTTL is how long leased tokens stay usable; tokens unused by
	// then are dropped. The fleet may exceed its quota over a window by at
	// most Rate × LeaseTTL / Period (tokens leased just before the window
	// and used in it). A lease aims to cover LeaseTTL / 2 of the replica's
	// recent demand. Zero: DefaultLeaseTTL; at least a millisecond. An
	// expiry past the largest time the clock holds saturates (a LeaseTTL
	// near the largest Duration: leased tokens never expire). A lease
	// that comes back LeaseTTL or more after it was asked for has no
	// usable token: it counts as a failed call (context.DeadlineExceeded;
	// Redis marked down, the Policy applied), so keep LeaseTTL well above
	// Redis's round trip when Timeout is longer than LeaseTTL.
	LeaseTTL time.Duration
	// MinBatch is the fewest tokens a lease asks for. More than 1 saves
	// Redis calls at low rates but drops unused tokens when a replica's
	// demand is low: keep it at 1 when many replicas each send little.
	// Zero: DefaultMinBatch.
	MinBatch int
	// MaxBatch is the most tokens a lease asks for; a lease is also
	// capped at Burst / 4 (at least 1). Zero: DefaultMaxBatch.
	MaxBatch int
	// MaxHosts bounds the hosts tracked. Zero: transport.DefaultMaxHosts.
	// When the table is full, the states that hold nothing a new one
	// would not (no valid leased token, local bucket full) make room. A
	// state whose local bucket is in use is kept, so that no host gets a
	// fresh burst while Redis is down; when every state holds something,
	// a new host is served without one (a lease per call) and, under
	// FallBackLocal, the hosts past the table share one local bucket per
	// limit.
	MaxHosts int
	// MeterProvider creates MetricDegraded, MetricRedisErrors and
	// MetricPoolExhausted (store "lease"). Nil: the global provider.
	MeterProvider metric.MeterProvider
}

// Quota is a transport.SharedQuota (ThrottleConfig.Quota) kept in Redis:
// the replicas of a service share one GCRA limit per host (or per
// QuotaLimit.Key), so that together they stay within an API's quota.
//
// Redis is not on every request's path. Each replica leases tokens in
// batches, with one Redis call (redis_rate AllowAtMost) per batch, and
// serves TakeQuota from the leased count in memory (an atomic decrement,
// no lock, no allocation). When the lease runs out, one caller per host
// starts the next lease and the others wait for it. The batch adapts to
// the replica's own consumption: it aims to cover LeaseTTL / 2 of recent
// demand, between MinBatch and min(MaxBatch, Burst / 4). When Redis grants
// less than asked (the fleet is at its quota), the replica waits before
// leasing again: the time the fleet needs to accrue a batch, doubled after
// each lease that got less than half of its batch, at most LeaseTTL (and
// at most the time the fleet needs to refill its burst), with jitter
// (between half and all of it). Replicas competing for a
// saturated quota thus space their leases out instead of polling Redis
// for one token at a time; meanwhile TakeQuota answers with a retry time.
// Replicas are not guaranteed equal shares of a saturated quota.
//
// Guarantee while Redis is up: over any window of length W the fleet sends
// at most Burst + Rate × (W + LeaseTTL) / Period requests for a quota:
// Redis's GCRA grants at most Burst + Rate × W / Period in any window, and
// a leased token is used within LeaseTTL of its grant or dropped. Tokens
// dropped unused, and the fractional token redis_rate may consume on a
// partial grant, make the fleet use slightly less than its quota, never
// more. Replicas' clocks play no part (the GCRA runs on Redis's TIME).
//
// Every Redis call is bounded by Timeout and runs apart from the callers'
// contexts (one caller giving up does not spoil a lease others wait on);
// each caller waits for it at most until its own context is done. A failed
// or timed-out call, or a lease that came back LeaseTTL or more after it
// was asked for (its tokens expired on arrival: Redis too slow to be used,
// reported as context.DeadlineExceeded), marks Redis down: leased tokens still valid are used,
// then the Policy applies until a probe (one lease per ProbeInterval)
// succeeds, and leasing resumes:
//
//   - FallBackLocal (default): each replica grants from a local token
//     bucket of Rate / ExpectedReplicas per Period, burst
//     Burst / ExpectedReplicas (at least 1). While Redis is down the fleet
//     then sends at most replicas / ExpectedReplicas of its quota (plus
//     each replica's unexpired leases, at most 1.25 batches): within the quota
//     only if no more than ExpectedReplicas replicas run. A Burst below
//     ExpectedReplicas is the exception: each replica's share of it, under
//     one request, is one, so the replicas may send one request each at
//     once (ExpectedReplicas in all, above Burst); a quota that must hold
//     to such a Burst through an outage needs FailClosed.
//   - FailClosed: TakeQuota returns an *Error (Store "lease") wrapping
//     ErrUnavailable (ErrPoolExhausted when the go-redis client's pool had
//     no free connection) and transport.ErrRateLimited; nothing is sent
//     beyond the leases already held.
//
// A lease Redis refuses for the value its key holds (something else's:
// WRONGTYPE, or a string the GCRA script cannot read as a number) does not
// mark Redis down: that quota's callers get the Policy, and it asks Redis
// again a ProbeInterval later, while every other quota keeps leasing. Its
// error (under FailClosed the *Error's cause; under FallBackLocal reported
// to otel.Handle, once a lease) names the Prefix, never the key, and says
// to give the Quota a Prefix of its own.
//
// Requests granted locally during an outage are not charged to Redis
// afterwards, and a restarted Redis starts every quota with a full burst:
// right after an outage the fleet may send up to one more Burst.
//
// MetricDegraded shows the state and each call served without Redis adds
// EventDegraded to the caller's span. The Quota is safe for concurrent use.
type Quota struct {
	allow    func(ctx context.Context, key string, l redis_rate.Limit, n int) (*redis_rate.Result, error)
	h        *health
	prefix   string
	def      quotaRule
	rules    []quotaRule
	ttl      int64 // nanoseconds
	minBatch int
	maxBatch int
	replicas int
	maxHosts int

	hosts  atomic.Pointer[map[string]*quotaState] // copy on write
	mu     sync.Mutex                             // writers of hosts, shared
	shared map[string]*quotaState                 // states of configured Keys
	// overflow holds, per limit (QuotaLimit index, -1: Limit), the
	// FallBackLocal bucket shared by the hosts past MaxHosts.
	overflow map[int]*rate.Limiter
	waits    atomic.Uint64 // TakeQuota calls that went the slow way (Waits)
}

// Waits implements transport.WaitCounter: how many TakeQuota calls found
// no leased token and went the slow way (which may wait for a lease). The
// layers read the clock again after such a call only.
func (q *Quota) Waits() uint64 { return q.waits.Load() }

var _ transport.SharedQuota = (*Quota)(nil)

// quotaRule is a validated QuotaLimit.
type quotaRule struct {
	// pattern as configured: transport.MatchHostPattern ignores the
	// case of its name but not of an IPv6 zone, which names an interface
	// ("[fe80::1%ETH0]" is not the "eth0" link), as HostKey keeps it.
	pattern string
	key     string
	limit   redis_rate.Limit // zero Rate: unlimited
}

// quotaState is the leasing state of one quota on this replica.
type quotaState struct {
	key      string // Redis key, without redis_rate's "rate:"
	limit    redis_rate.Limit
	ei       float64 // emission interval, nanoseconds per token
	capBatch int
	local    *rate.Limiter // the FallBackLocal share; nil with FailClosed
	rule     int           // index of its QuotaLimit in Hosts; -1: Limit
	shared   bool          // the state of a QuotaLimit.Key, kept in Quota.shared

	lease   atomic.Pointer[lease]
	next    atomic.Pointer[lease] // leased ahead (refresh-ahead), promoted when lease runs out
	waiting atomic.Int64          // callers in the slow path

	mu        sync.Mutex
	flight    *flight // the lease in progress, nil when none
	notBefore int64   // no lease before this (ticks) after a short one
	// faultUntil: no lease before this (ticks) after Redis refused one
	// for the key's value (keyFault); fault is that refusal.
	faultUntil int64
	fault      error
	backoff    int     // doublings of the wait between short leases
	rate       float64 // estimated consumption, tokens per second (EWMA)
	leases     int64   // Redis leases that answered
	leased     int64   // tokens granted by them
	expired    int64   // tokens dropped unused
}

// unlimited is the state of hosts without a quota.
var unlimited = &quotaState{}

// lease is one batch of tokens granted by Redis.
type lease struct {
	start   int64 // ticks (clock.go), taken before the Redis call
	expires int64
	granted int64
	low     int64 // taking the token that leaves this many starts the next lease; 0: none
	left    atomic.Int64
	emptyAt atomic.Int64 // when the last token was taken; 0: not yet
	inUse   atomic.Int64 // when a lease taken ahead became current; 0: at start
}

// newLease is a lease of g tokens asked for at start. A lease of at
// least 4 tokens asks for the next one when a quarter is left
// (refresh-ahead), so that a replica whose demand the quota can serve
// does not wait for Redis when the lease runs out.
func newLease(start, ttl int64, g int) *lease {
	expires := int64(math.MaxInt64) // saturated: a LeaseTTL near the largest Duration
	if ttl < math.MaxInt64-start {
		expires = start + ttl
	}
	l := &lease{start: start, expires: expires, granted: int64(g), low: int64(g / 4)}
	l.left.Store(int64(g))
	return l
}

// flight is one lease call in progress.
type flight struct {
	done  chan struct{}
	ahead bool  // a refresh-ahead lease: installed as st.next while st.lease lasts
	err   error // set before done is closed
}

// NewQuota returns a Quota on c, which the caller owns. A go-redis Client
// or ClusterClient must have ContextTimeoutEnabled set and a PoolTimeout
// below the store's Timeout. A *redis.Ring is refused: it drops a shard it
// finds down from its hash ring and sends that shard's keys to another
// one, each replica's Ring on its own, so a quota whose key was on the
// lost shard would start afresh there with a full burst while no call
// fails (neither Policy applies: FailClosed would grant). Bad options are
// a *ConfigError naming the field.
func NewQuota(c redis.UniversalClient, opts QuotaOptions) (*Quota, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	if _, ok := c.(*redis.Ring); ok {
		return nil, configError("client", "a redis.Ring moves a down shard's keys to other shards, so a quota kept there would start afresh with a full burst (granted, not refused); use a redis.Client (one server, or Sentinel failover) or a redis.ClusterClient")
	}
	q := &Quota{prefix: opts.Prefix, minBatch: opts.MinBatch, maxBatch: opts.MaxBatch,
		replicas: opts.ExpectedReplicas, maxHosts: opts.MaxHosts, shared: make(map[string]*quotaState),
		overflow: make(map[int]*rate.Limiter)}
	var err error
	if q.def, err = checkQuotaLimit("Limit", opts.Limit, false); err != nil {
		return nil, err
	}
	// A Key is one quota with one limit: the first host of a Key builds
	// its state, so a Key given again with another limit would apply
	// whichever entry's host this replica happened to see first.
	keyLimits := make(map[string]redis_rate.Limit)
	if q.def.key != "" {
		keyLimits[q.def.key] = q.def.limit
	}
	for i, l := range opts.Hosts {
		field := fmt.Sprintf("Hosts[%d]", i)
		r, err := checkQuotaLimit(field, l, true)
		if err != nil {
			return nil, err
		}
		for j, prev := range opts.Hosts[:i] {
			// The first matching pattern wins: this limit would never
			// apply, and its hosts would get the earlier one's quota.
			if transport.HostPatternCovers(prev.Pattern, l.Pattern) {
				return nil, configError(field+".Pattern", fmt.Sprintf("%q never applies: Hosts[%d] (%q) matches every host it does and comes first (the first matching pattern wins): put the more specific limit first", l.Pattern, j, prev.Pattern))
			}
		}
		if r.key != "" {
			if lim, ok := keyLimits[r.key]; ok && lim != r.limit {
				return nil, configError(field+".Key", fmt.Sprintf("%q is given with another limit (%v) elsewhere: a Key has one Rate, Period and Burst", r.key, lim))
			}
			keyLimits[r.key] = r.limit
		}
		q.rules = append(q.rules, r)
	}
	switch {
	case opts.LeaseTTL < 0 || (opts.LeaseTTL > 0 && opts.LeaseTTL < time.Millisecond):
		return nil, configError("LeaseTTL", "must be at least 1ms")
	case opts.MinBatch < 0:
		return nil, configError("MinBatch", "must not be negative")
	case opts.MaxBatch < 0:
		return nil, configError("MaxBatch", "must not be negative")
	case opts.ExpectedReplicas < 0:
		return nil, configError("ExpectedReplicas", "must not be negative")
	case opts.MaxHosts < 0:
		return nil, configError("MaxHosts", "must not be negative")
	}
	if q.minBatch == 0 {
		q.minBatch = DefaultMinBatch
	}
	if q.maxBatch == 0 {
		q.maxBatch = DefaultMaxBatch
	}
	if q.minBatch > q.maxBatch {
		return nil, configError("MinBatch", fmt.Sprintf("must not exceed MaxBatch (%d)", q.maxBatch))
	}
	q.ttl = int64(opts.LeaseTTL)
	if q.ttl == 0 {
		q.ttl = int64(DefaultLeaseTTL)
	}
	if opts.Policy == PolicyDefault {
		opts.Policy = FallBackLocal
	}
	if opts.Policy == FallBackLocal && opts.ExpectedReplicas == 0 {
		return nil, configError("ExpectedReplicas", "required with the FallBackLocal policy: while Redis is down each replica grants Rate / ExpectedReplicas")
	}
	if q.h, err = newHealth("lease", opts.Policy, opts.Timeout, opts.ProbeInterval, opts.MeterProvider); err != nil {
		return nil, err
	}
	if err := checkPoolTimeout(c, "quota", q.h.timeout); err != nil {
		return nil, err
	}
	if q.prefix == "" {
		q.prefix = DefaultPrefix
	}
	if q.maxHosts == 0 {
		q.maxHosts = transport.DefaultMaxHosts
	}
	lim := redis_rate.NewLimiter(c)
	q.allow = lim.AllowAtMost
	return q, nil
}

func checkQuotaLimit(field string, l QuotaLimit, needPattern bool) (quotaRule, error) {
	r := quotaRule{pattern: l.Pattern, key: l.Key}
	if needPattern {
		if err := transport.CheckHostPattern(l.Pattern); err != nil {
			return r, configError(field+".Pattern", err.Error())
		}
	}
	switch {
	case l.Rate < 0:
		return r, configError(field+".Rate", "must not be negative")
	case l.Period < 0 || (l.Period > 0 && l.Period < time.Millisecond):
		return r, configError(field+".Period", "must be at least 1ms")
	case l.Burst < 0:
		return r, configError(field+".Burst", "must not be negative")
	case l.Burst > 0 && l.Rate == 0:
		return r, configError(field+".Burst", "needs a Rate")
	case l.Key != "" && l.Rate == 0:
		return r, configError(field+".Key", "needs a Rate")
	}
	if l.Rate == 0 {
		return r, nil
	}
	r.limit = redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst}
	if r.limit.Period == 0 {
		r.limit.Period = DefaultQuotaPeriod
	}
	if r.limit.Period/time.Duration(r.limit.Rate) < time.Microsecond {
		// The GCRA runs on Redis TIME, in microseconds.
		return r, configError(field+".Rate", "at most one request per microsecond of Period (Redis TIME resolution)")
	}
	if r.limit.Burst == 0 {
		r.limit.Burst = l.Rate
	}
	return r, nil
}

// matches reports whether host (a transport.HostKey) matches the rule's
// pattern, as a transport.HostLimit pattern matches.
func (r quotaRule) matches(host string) bool { return transport.MatchHostPattern(r.pattern, host) }

// TakeQuota implements transport.SharedQuota: (0, nil) when one request
// to host may be sent now; (d, nil) when none is available (nothing was
// taken; asking again after d may succeed; d is at most the quota's
// Period); under FailClosed, while Redis is unavailable and no leased
// token is left, an *Error matching ErrUnavailable (ErrPoolExhausted
// when the go-redis client's pool had no free connection) and
// transport.ErrRateLimited. When ctx is done before a lease it waits for
// has answered, it returns ctx.Err(). host is a transport.HostKey. Hosts
// without a quota are granted at once.
//
// A zero Quota (not made by NewQuota) grants nothing: it returns a
// *ConfigError, so the throttle fails the attempt.
func (q *Quota) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	if q.h == nil {
		return 0, zeroErr(errZeroQuota)
	}
	st := q.state(host)
	if st == unlimited {
		return 0, nil
	}
	now := q.h.clk.Now()
	ok, low := st.take(q.h.clk.Mono(now))
	if ok {
		if low {
			q.leaseAhead(st, now)
		}
		return 0, nil
	}
	return q.slow(ctx, st)
}

// take takes one leased token at now (ticks), if the current lease (or, once it is used
// up or expired, the one leased ahead, which it promotes) has one. low
// reports that the token taken was the current lease's low-water mark: the
// caller starts the next lease.
func (st *quotaState) take(now int64) (ok, low bool) {
	for {
		l := st.lease.Load()
		if l != nil && now < l.expires {
			n := l.left.Add(-1)
			if n >= 0 {
				if n == 0 {
					l.emptyAt.Store(now)
				}
				return true, n == l.low && l.low > 0
			}
		}
		nx := st.next.Load()
		if nx == nil {
			return false, false
		}
		if now >= nx.expires { // leased ahead, expired unused (a pause)
			st.next.CompareAndSwap(nx, nil)
			return false, false
		}
		if st.lease.CompareAndSwap(l, nx) {
			nx.inUse.Store(now) // demand is measured from here, not from the lease call
			st.next.CompareAndSwap(nx, nil)
		}
	}
}

// leaseAhead starts the next lease while the current one still has a
// quarter left, unless a lease is in flight, one is already waiting, the
// quota asked to hold off, or Redis is marked down (then the callers that
// run out go through slow and the Policy). Nobody waits for it.
func (q *Quota) leaseAhead(st *quotaState, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := q.h.clk.Mono(now)
	if nx := st.next.Load(); nx != nil && n < nx.expires {
		return // one is already waiting
	}
	if st.flight != nil || n < st.notBefore || n < st.faultUntil || !q.h.try(now) {
		return
	}
	f := &flight{done: make(chan struct{}), ahead: true}
	st.flight = f
	go q.lease(st, f, st.want(q))
}

// slow runs when the lease is empty or expired: it starts a lease (one
// per quota at a time) or waits for the one in progress, then takes from
// it; it answers with a retry time when the last lease was short, and
// applies the Policy when Redis is unavailable.
func (q *Quota) slow(ctx context.Context, st *quotaState) (time.Duration, error) {
	q.waits.Add(1)
	st.waiting.Add(1)
	defer st.waiting.Add(-1)
	for range maxFlightWaits {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		now := q.h.clk.Now()
		n := q.h.clk.Mono(now)
		if ok, _ := st.take(n); ok {
			return 0, nil
		}
		st.mu.Lock()
		if ok, _ := st.take(n); ok { // a lease landed since
			st.mu.Unlock()
			return 0, nil
		}
		f := st.flight
		if f == nil {
			if n < st.notBefore {
				d := time.Duration(st.notBefore - n)
				st.mu.Unlock()
				return min(d, st.limit.Period), nil
			}
			if n < st.faultUntil { // the key's value is unreadable
				cause := st.fault
				st.mu.Unlock()
				return q.degraded(ctx, st, now, cause)
			}
			if !q.h.try(now) {
				st.mu.Unlock()
				return q.degraded(ctx, st, now, nil)
			}
			f = &flight{done: make(chan struct{})}
			st.flight = f
			// At least one token for every caller waiting.
			want := min(max(st.want(q), int(st.waiting.Load())), st.capBatch)
			go q.lease(st, f, want)
		}
		st.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if f.err != nil {
			now = q.h.clk.Now()
			if ok, _ := st.take(q.h.clk.Mono(now)); ok {
				return 0, nil
			}
			return q.degraded(ctx, st, now, f.err)
		}
	}
	// Others took what the leases we waited for granted.
	return time.Duration(math.Ceil(st.ei)), nil
}

// want is the size of the next lease: LeaseTTL / 2 of the estimated
// consumption, within [MinBatch, capBatch]. Called under st.mu.
func (st *quotaState) want(q *Quota) int {
	w := math.Round(st.rate * float64(q.ttl) / 2 / float64(time.Second))
	lo := min(q.minBatch, st.capBatch)
	if !(w >= float64(lo)) { // also NaN
		return lo
	}
	if w >= float64(st.capBatch) {
		return st.capBatch
	}
	return int(w)
}

// lease asks Redis for want tokens and records the answer in st. It runs
// in its own goroutine, bounded by the Timeout, so that no caller's
// cancellation spoils the lease the others wait for.
//
// The lease's tokens are usable for LeaseTTL from just before the call
// (no later than Redis's grant). A lease that comes back after that has
// none usable: Redis answered too late to be used, which counts as a
// failed call (context.DeadlineExceeded), Redis marked down and the Policy
// applied until a probe lease comes back in time. Otherwise a Redis slower
// than LeaseTTL (within a longer Timeout) would be asked again and again,
// each lease consuming the fleet's quota and granting nothing.
func (q *Quota) lease(st *quotaState, f *flight, want int) {
	start := q.h.clk.Now()
	ctx, cancel := q.h.ctx(context.Background())
	res, err := q.allowed(ctx, st, want)
	if err != nil {
		err = q.h.cause(ctx, err)
	}
	cancel()
	now := q.h.clk.Now()
	var report error // to otel.Handle, once st.mu is released
	defer func() {
		if report != nil {
			otel.Handle(report)
		}
	}()
	st.mu.Lock()
	defer st.mu.Unlock()
	defer close(f.done)
	st.flight = nil
	if s, n := q.h.clk.Mono(start), q.h.clk.Mono(now); err == nil && q.ttl < math.MaxInt64-s && n >= s+q.ttl {
		g := int64(max(res.Allowed, 0))
		st.leases++
		st.leased += g
		st.expired += g
		err = fmt.Errorf("fleet: the lease came back %v after it was asked for, later than LeaseTTL (%v): its %d tokens expired unused: %w",
			time.Duration(n-s), time.Duration(q.ttl), g, context.DeadlineExceeded)
	}
	if err != nil {
		if keyFault(err) {
			// Redis answered: the fault is this quota's key, not Redis.
			// Only this quota applies the Policy, until a ProbeInterval
			// has passed; the other quotas keep leasing. The error
			// names the Prefix, never the key; under FallBackLocal, where
			// the callers get the local share and no error, it goes to
			// otel.Handle (once a lease: at most once a ProbeInterval).
			q.h.keyFailed()
			kc := &keyCollision{prefix: q.prefix, err: err}
			f.err = kc
			st.faultUntil, st.fault = q.h.clk.After(now, q.h.probeEvery), kc
			if st.local != nil {
				report = fmt.Errorf("fleet: quota lease refused, callers served from the local share: %w", kc)
			}
			return
		}
		f.err = err
		q.h.failed(now, err)
		return
	}
	q.h.ok()
	st.apply(q, res, want, q.h.clk.Mono(start), q.h.clk.Mono(now), f.ahead)
}

// allowed makes the lease call. A reply redis_rate cannot read is an
// error, not a panic: redis_rate asserts the types of the script's reply
// unchecked, and a Redis-compatible server or proxy that answers with
// others would otherwise crash the process from the lease goroutine. A
// grant larger than asked for is cut to want: no reply makes a lease
// bigger than this replica asked for (and apply waits at most the
// Period for a refusal's RetryAfter).
func (q *Quota) allowed(ctx context.Context, st *quotaState, want int) (res *redis_rate.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("fleet: unexpected reply to the quota script: %v", p)
		}
	}()
	res, err = q.allow(ctx, st.key, st.limit, want)
	switch {
	case err != nil:
		return nil, err
	case res == nil:
		return nil, errors.New("fleet: no reply to the quota script")
	case res.Allowed > want:
		r := *res
		r.Allowed = want
		return &r, nil
	}
	return res, nil
}

// apply installs the tokens a lease granted and sets the wait before the
// next lease. Called under st.mu.
func (st *quotaState) apply(q *Quota, res *redis_rate.Result, want int, start, now int64, ahead bool) {
	old := st.lease.Load()
	if old != nil {
		st.observe(old, start, st.notBefore != 0)
	}
	// A lease asked for ahead waits in st.next while the current one
	// lasts; otherwise (the current one ran out meanwhile) it replaces it.
	ahead = ahead && old != nil && old.left.Load() > 0 && now < old.expires
	g := max(res.Allowed, 0)
	st.leases++
	st.leased += int64(g)
	switch {
	case g > 0 && ahead:
		st.next.Store(newLease(start, int64(q.ttl), g))
	case g > 0:
		st.lease.Store(newLease(start, int64(q.ttl), g))
	case !ahead:
		st.lease.Store(nil)
	}
	if g >= want {
		st.backoff = max(st.backoff-1, 0)
		st.notBefore = 0
		return
	}
	// Short: the fleet is at its quota. Wait about as long as the fleet
	// needs to accrue a batch, longer while leases keep coming back
	// short, at most maxGate.
	if 2*g < want {
		st.backoff = min(st.backoff+1, maxBackoffShift)
	}
	w := min(float64(want)*st.ei*float64(int64(1)<<st.backoff), st.maxGate(q))
	w = w/2 + rand.Float64()*w/2
	if g == 0 {
		// redis_rate's RetryAfter is the time to the next token, within
		// the Period; a reply asking for longer (a Redis-compatible
		// server's or proxy's) waits the Period.
		w = max(w, min(float64(res.RetryAfter), float64(st.limit.Period)))
	}
	if w < float64(math.MaxInt64-now) {
		st.notBefore = now + int64(w)
	} else {
		st.notBefore = math.MaxInt64 // saturated, as a lease's expiry
	}
}

// maxGate is the longest wait between a short lease and the next, in
// nanoseconds: LeaseTTL (the batch interval the Quota aims at), but no
// longer than the fleet needs to refill the burst (so that a burst does
// not fill up unclaimed while every replica waits), and at least one
// token's time.
func (st *quotaState) maxGate(q *Quota) float64 {
	return max(min(float64(q.ttl), float64(st.limit.Burst)*st.ei), st.ei)
}

// observe folds the demand seen during a finished lease into st.rate and
// counts its dropped tokens; next is when the next lease started, gated
// whether the lease before it came back short. Called under st.mu.
//
// The demand is the tokens used over the time they lasted: until the next
// lease was asked for (a caller needed a token again), or, when the
// replica had to wait for the quota after a short lease, until the last
// token went (the wait says nothing about demand), or until the lease
// expired with tokens left.
func (st *quotaState) observe(l *lease, next int64, gated bool) {
	left := max(l.left.Load(), 0)
	end := l.emptyAt.Load()
	switch {
	case end == 0:
		end = min(next, l.expires)
		if next >= l.expires {
			st.expired += left
		}
	case !gated:
		end = next
	}
	begin := l.start
	if u := l.inUse.Load(); u != 0 {
		begin = u // a lease taken ahead: it served demand from its promotion on
	}
	d := max(end-begin, minRateWindow)
	r := float64(l.granted-left) / (float64(d) / float64(time.Second))
	if st.rate == 0 {
		st.rate = r
	} else {
		st.rate = (st.rate + r) / 2
	}
}

// degraded answers a call that Redis cannot serve, by the Policy.
func (q *Quota) degraded(ctx context.Context, st *quotaState, now time.Time, cause error) (time.Duration, error) {
	q.h.event(ctx)
	if st.local == nil {
		return 0, &Error{Store: "lease", Op: "acquire", Err: &quotaRefusal{cause: cause}}
	}
	if st.local.AllowN(now, 1) {
		return 0, nil
	}
	need := 1 - st.local.TokensAt(now)
	d := time.Duration(math.Ceil(need / float64(st.local.Limit()) * float64(time.Second)))
	return min(max(d, 1), st.limit.Period), nil
}

// quotaRefusal is the cause of a FailClosed refusal: it matches
// transport.ErrRateLimited (the throttle and retry layers treat it as a
// rate limit) and the Redis error, if there was one.
type quotaRefusal struct{ cause error }

func (r *quotaRefusal) Error() string {
	if r.cause == nil {
		return "marked down, next probe pending"
	}
	return r.cause.Error()
}

func (r *quotaRefusal) Unwrap() []error {
	if r.cause == nil {
		return []error{transport.ErrRateLimited}
	}
	return []error{transport.ErrRateLimited, r.cause}
}

// Stats returns the Quota's Redis call counts (one per lease) and whether
// Redis is marked down.
func (q *Quota) Stats() Stats { return q.h.stats() }

// state returns host's state, creating it on first use.
func (q *Quota) state(host string) *quotaState {
	if m := q.hosts.Load(); m != nil {
		if st, ok := (*m)[host]; ok {
			return st
		}
	}
	return q.add(host)
}

func (q *Quota) add(host string) *quotaState {
	q.mu.Lock()
	defer q.mu.Unlock()
	var old map[string]*quotaState
	if m := q.hosts.Load(); m != nil {
		old = *m
		if st, ok := old[host]; ok {
			return st
		}
	}
	st := q.newState(host)
	next := make(map[string]*quotaState, min(len(old)+1, q.maxHosts))
	if len(old) < q.maxHosts {
		for h, s := range old {
			next[h] = s
		}
	} else {
		// Full: keep the states that hold something (a live lease, or a
		// local bucket in use: dropping it would give the host a full
		// burst again on its next request while Redis is down). The others
		// are worth no more than a new state.
		now := q.h.clk.Now()
		for h, s := range old {
			if s.holds(now, q.h.clk.Mono(now)) {
				next[h] = s
			}
		}
		if len(next) >= q.maxHosts {
			// Every state holds something: the host is served past the
			// table, without a state of its own.
			return q.overflowState(st)
		}
	}
	next[host] = st
	q.hosts.Store(&next)
	return st
}

// holds reports whether st keeps anything a new state would not have: a
// leased token still valid, or a local bucket below its burst. Called
// under q.mu.
func (st *quotaState) holds(now time.Time, n int64) bool {
	if st == unlimited {
		return false
	}
	if l := st.lease.Load(); l != nil && n < l.expires && l.left.Load() > 0 {
		return true
	}
	if l := st.next.Load(); l != nil && n < l.expires {
		return true
	}
	return st.local != nil && st.local.TokensAt(now) < float64(st.local.Burst())
}

// overflowState serves host when the host table is full of states that
// hold something: st (host's new state) leases from host's own Redis key
// as usual, but is not kept (each call builds one, so each leases anew),
// and its FallBackLocal bucket is one shared by every host past the table
// under the same limit: while Redis is down these hosts together get one
// host's local share. A configured Key's state and the unlimited one are
// kept apart from the table and returned as they are. Called under q.mu.
func (q *Quota) overflowState(st *quotaState) *quotaState {
	if st == unlimited || st.local == nil || st.shared {
		return st
	}
	l, ok := q.overflow[st.rule]
	if !ok {
		l = rate.NewLimiter(st.local.Limit(), st.local.Burst())
		q.overflow[st.rule] = l
	}
	st.local = l
	return st
}

// newState builds the state of host's quota; a shared Key's state is
// built once. Called under q.mu.
func (q *Quota) newState(host string) *quotaState {
	r, ri := q.def, -1
	for i, rule := range q.rules {
		if rule.matches(host) {
			r, ri = rule, i
			break
		}
	}
	if r.limit.Rate == 0 {
		return unlimited
	}
	id := host
	if r.key != "" {
		if st, ok := q.shared[r.key]; ok {
			return st
		}
		// Apart from every host's own quota: a host key has no "/".
		id = "key/" + r.key
	}
	st := &quotaState{key: q.prefix + "quota:" + id, limit: r.limit,
		ei: float64(r.limit.Period) / float64(r.limit.Rate), rule: ri, shared: r.key != ""}
	st.capBatch = min(q.maxBatch, max(1, r.limit.Burst/leaseBurstDivisor))
	if q.h.policy == FallBackLocal {
		per := float64(r.limit.Rate) / float64(q.replicas) / r.limit.Period.Seconds()
		st.local = rate.NewLimiter(rate.Limit(per), max(1, r.limit.Burst/q.replicas))
	}
	if r.key != "" {
		q.shared[r.key] = st
	}
	return st
}
