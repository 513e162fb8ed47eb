package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/securecall/securecall/internal/hookpanic"
	"github.com/securecall/securecall/transport"
)

// Defaults shared by the stores (zero values of their options).
const (
	// DefaultTimeout bounds every Redis call a store makes.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultProbeInterval is how often a store that marked Redis down
	// lets one call try it again.
	DefaultProbeInterval = time.Second
	// DefaultPrefix starts every key the stores write.
	DefaultPrefix = "securecall:"
)

// Telemetry names.
const (
	// MetricDegraded is an up-down counter (unit "{store}"), 1 for each
	// store currently serving from local state or refusing because Redis
	// is unavailable. Attribute: StoreKey.
	MetricDegraded = "securecall.fleet.degraded"
	// MetricRedisErrors counts Redis calls that failed or timed out (unit
	// "{call}"). Attribute: StoreKey.
	MetricRedisErrors = "securecall.fleet.redis.errors"
	// MetricPoolExhausted counts store calls that got no connection from
	// the go-redis client's pool (ErrPoolExhausted; unit "{call}"). They
	// are not Redis errors and do not mark Redis down. Attribute:
	// StoreKey.
	MetricPoolExhausted = "securecall.fleet.redis.pool_exhausted"
	// EventDegraded is the span event added to the caller's span when a
	// store with a context (the nonce store) serves a call without Redis.
	// Attributes: StoreKey, PolicyKey.
	EventDegraded = "securecall.fleet.degraded"
	// StoreKey names the store ("nonce", "cooldown", "breaker", "lease").
	StoreKey = attribute.Key("securecall.fleet.store")
	// PolicyKey names the degraded policy applied ("fail_closed",
	// "fall_back_local").
	PolicyKey = attribute.Key("securecall.fleet.policy")
)

// Policy says what a store does while Redis is unavailable: a call failed
// or exceeded the store's Timeout, and until a later probe succeeds.
type Policy uint8

const (
	// PolicyDefault selects the store's own default: FailClosed for the
	// nonce store, FallBackLocal for the cooldown store and the lease
	// limiter.
	PolicyDefault Policy = iota
	// FailClosed holds back or refuses: the nonce store rejects every
	// signature (the verifier answers 503 through ErrorHandler), the lease
	// limiter grants nothing once its leased tokens are used, and the
	// cooldown store reports a cooldown until the next probe (so requests
	// wait for the probe, within their deadline, and are then sent, or
	// fail with ErrRateLimited when they cannot wait that long).
	FailClosed
	// FallBackLocal keeps serving from this replica's own state: the
	// protection then holds per replica only (see each store).
	FallBackLocal
)

// String returns the policy's name as used in telemetry.
func (p Policy) String() string {
	switch p {
	case FailClosed:
		return "fail_closed"
	case FallBackLocal:
		return "fall_back_local"
	default:
		return "default"
	}
}

// Stats counts a store's Redis use.
type Stats struct {
	// RedisCalls is the number of Redis calls made (each one round trip).
	RedisCalls int64
	// RedisErrors is the number of those that failed or timed out.
	RedisErrors int64
	// Degraded reports whether Redis is currently marked down.
	Degraded bool
	// PoolExhausted is the number of calls that got no connection from
	// the go-redis client's pool (ErrPoolExhausted). They are not
	// RedisErrors and do not mark Redis down.
	PoolExhausted int64
}

// health tracks whether Redis is usable for one store. While it is marked
// down, at most one call per probe interval tries Redis; the others go
// straight to the degraded policy, so an outage costs one Timeout per
// interval instead of one per request.
type health struct {
	store      string
	policy     Policy
	timeout    time.Duration
	probeEvery time.Duration
	clk        clock

	down      atomic.Bool
	nextProbe atomic.Int64 // ticks (clock.go)
	calls     atomic.Int64
	errs      atomic.Int64
	busy      atomic.Int64 // calls that found the pool exhausted
	watching  atomic.Bool  // a watch is in flight

	degraded  metric.Int64UpDownCounter
	errCount  metric.Int64Counter
	busyCount metric.Int64Counter
	attrs     metric.MeasurementOption
	eventAttr []attribute.KeyValue
}

func newHealth(store string, policy Policy, timeout, probe time.Duration, mp metric.MeterProvider) (*health, error) {
	if err := checkTimes(timeout, probe); err != nil {
		return nil, err
	}
	if policy > FallBackLocal {
		return nil, configError("Policy", "unknown policy")
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if probe == 0 {
		probe = DefaultProbeInterval
	}
	h := &health{store: store, policy: policy, timeout: timeout, probeEvery: probe, clk: sysClock}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter("github.com/securecall/securecall/fleet")
	var err error
	if h.degraded, err = meter.Int64UpDownCounter(MetricDegraded, metric.WithUnit("{store}"),
		metric.WithDescription("Fleet stores currently degraded because Redis is unavailable.")); err != nil || h.degraded == nil {
		otel.Handle(err)
		h.degraded = metricnoop.Int64UpDownCounter{}
	}
	if h.errCount, err = meter.Int64Counter(MetricRedisErrors, metric.WithUnit("{call}"),
		metric.WithDescription("Redis calls of the fleet stores that failed or timed out.")); err != nil || h.errCount == nil {
		otel.Handle(err)
		h.errCount = metricnoop.Int64Counter{}
	}
	if h.busyCount, err = meter.Int64Counter(MetricPoolExhausted, metric.WithUnit("{call}"),
		metric.WithDescription("Fleet store calls that got no connection from the Redis client's pool.")); err != nil || h.busyCount == nil {
		otel.Handle(err)
		h.busyCount = metricnoop.Int64Counter{}
	}
	h.attrs = metric.WithAttributeSet(attribute.NewSet(StoreKey.String(store)))
	h.eventAttr = []attribute.KeyValue{StoreKey.String(store), PolicyKey.String(policy.String())}
	return h, nil
}

// minStoreTime is the shortest Timeout and ProbeInterval a store takes.
// No Redis round trip finishes in less (a Timeout of 1 µs is a unit left
// out): every call would time out and mark Redis down, the nonce store
// refusing every request and the others falling back to local state for
// good; and a shorter ProbeInterval would let every call of an outage wait
// out the Timeout, which the probe interval is there to prevent.
const minStoreTime = time.Millisecond

// checkTimes checks a store's Timeout and ProbeInterval (zero: the
// default): negative or under minStoreTime is a *ConfigError naming the
// field.
func checkTimes(timeout, probe time.Duration) error {
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"Timeout", timeout}, {"ProbeInterval", probe}} {
		switch {
		case d.v < 0:
			return configError(d.field, "must not be negative")
		case d.v > 0 && d.v < minStoreTime:
			return configError(d.field, fmt.Sprintf("%v is under a millisecond, in which no Redis call finishes (a unit left out?): at least %v, or zero for the default", d.v, minStoreTime))
		}
	}
	return nil
}

// try reports whether the caller may call Redis now: always while it is
// up; while it is down, one caller per probe interval (the next probe's
// time saturates: an interval near the largest Duration means no probe,
// not one on every call).
func (h *health) try(now time.Time) bool {
	if !h.down.Load() {
		return true
	}
	next := h.nextProbe.Load()
	n := h.clk.Mono(now)
	return n >= next && h.nextProbe.CompareAndSwap(next, h.clk.After(now, h.probeEvery))
}

// ctx returns the context of one Redis call: parent bounded by Timeout.
func (h *health) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	h.calls.Add(1)
	return context.WithTimeout(parent, h.timeout)
}

// ok records a successful Redis call: Redis is up again if it was down.
func (h *health) ok() {
	if h.down.Load() && h.down.CompareAndSwap(true, false) {
		h.count(h.degraded, -1)
	}
}

// adder is an instrument of the caller's MeterProvider (Int64Counter,
// Int64UpDownCounter).
type adder interface {
	Add(ctx context.Context, incr int64, options ...metric.AddOption)
}

// count adds n to c. Redis's health is counted on the callers' goroutines
// and on the stores' own (a BreakerStore's background read or publish, a
// Quota's lease, a CooldownStore's write), where no caller's recover
// reaches: an instrument that panics (a bug in the caller's
// MeterProvider) would end the process, so its panic is recovered and
// logged (hookpanic), as the transport's handshake counters' are, and
// Redis's state, set before the count, stands.
func (h *health) count(c adder, n int64) {
	defer hookpanic.Recover("fleet: MeterProvider instrument")
	c.Add(context.Background(), n, h.attrs)
}

// failed records a failed Redis call, made at now: Redis is marked down
// and the next probe is due a probe interval later. A call that got no
// connection from the client's pool (poolExhausted) never reached Redis:
// it is counted apart and leaves Redis's state as it was. While Redis is
// marked down such a call was a probe (try let it through), which it must
// not use up: the next probe is due at once, or a recovered Redis would
// stay marked down for another probe interval.
func (h *health) failed(now time.Time, err error) {
	if poolExhausted(err) {
		h.busy.Add(1)
		h.count(h.busyCount, 1)
		if h.down.Load() {
			h.nextProbe.Store(h.clk.Mono(now))
		}
		return
	}
	h.errs.Add(1)
	h.count(h.errCount, 1)
	h.nextProbe.Store(h.clk.After(now, h.probeEvery))
	if h.down.CompareAndSwap(false, true) {
		h.count(h.degraded, 1)
	}
}

// keyFailed records a call that Redis answered with an error about the
// value of the key it used (keyFault): counted as a Redis error, and Redis,
// which answered, is up.
func (h *health) keyFailed() {
	h.errs.Add(1)
	h.count(h.errCount, 1)
	h.ok()
}

// keyFault reports whether err is Redis's refusal of a call for the value
// its key holds, something else's value under the store's prefix: the key
// holds another type (WRONGTYPE, also from a script's redis.call), or a
// script failed on it at run time (the quota's GCRA script reads the key
// as a number: "ERR user_script:25: bad argument #1 to 'max'"). Redis is
// up and serves other keys, so such a call says nothing about Redis
// (unlike READONLY, OOM, LOADING or a network error). The forms are Redis
// 7's; a server that words them otherwise is judged as before (a failed
// call, Redis marked down).
func keyFault(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	m := re.Error()
	return strings.HasPrefix(m, "WRONGTYPE ") || strings.HasPrefix(m, "ERR user_script:")
}

// keyCollision is the cause of a call Redis refused for the value its key
// holds (keyFault): another application's data under the store's Prefix,
// which it shares. It names the Prefix, never the key (a nonce store's key
// is a hash of a key id and a nonce, a quota's names a host), says what to
// do, and wraps Redis's error.
type keyCollision struct {
	prefix string
	err    error
}

func (e *keyCollision) Error() string {
	return "key collision under Prefix " + strconv.Quote(e.prefix) +
		": the key holds another application's data (a Prefix shared with it?); give the store a Prefix of its own: " + e.err.Error()
}

func (e *keyCollision) Unwrap() error { return e.err }

// poolExhausted reports whether err is go-redis's report that every
// connection of the client's pool was busy: the call was never sent, so
// it says nothing about Redis.
func poolExhausted(err error) bool {
	return errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted)
}

// watch judges Redis by the store's own Timeout after a caller gave up on
// a call before the store could (the caller's deadline was shorter than
// Timeout, or it was cancelled): call, a Redis command that changes
// nothing (the nonce store's is a write, SETRANGE of nothing on the
// claim's key, so that a Redis holding back writes while it answers reads,
// CLIENT PAUSE WRITE, is judged as the claim's SET would be, and a cluster
// asks the same node), runs in a goroutine of its own, on a
// context detached from every caller and bounded by Timeout, and its
// outcome marks Redis up or down as any call's does (a pool found
// exhausted leaves it as it was). Without it, a hung Redis whose callers
// all have shorter deadlines would never be marked down: every call would
// wait out its caller's deadline and fail, forever. At most one watch is
// in flight per store (a caller giving up meanwhile starts none), and it
// ends within Timeout. Redis refusing call for the value its key holds
// (keyFault: another type's value under the store's Prefix, WRONGTYPE)
// says Redis answered: it is counted as a Redis error, Redis is up, and
// the error collision makes of it, naming the key, goes to otel.Handle,
// there being no caller to return it to.
func (h *health) watch(call func(ctx context.Context) error, collision func(err error) error) {
	if !h.watching.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer h.watching.Store(false)
		ctx, cancel := h.ctx(context.Background())
		err := call(ctx)
		cancel()
		if err != nil && keyFault(err) {
			h.keyFailed()
			otel.Handle(collision(err))
			return
		}
		if err != nil {
			h.failed(h.clk.Now(), err)
			return
		}
		h.ok()
	}()
}

// gaveUp returns the error of the caller's ctx when the caller, not Redis,
// ended a failed call made with cctx (h.ctx(ctx)): ctx.Err(), or
// context.DeadlineExceeded when ctx's deadline bounded the call (it is no
// later than the store's) and has passed. go-redis turns that deadline
// into the socket's, whose i/o timeout can come back before the context's
// own timer has ended ctx, while ctx.Err() is still nil: such a call was
// cut by the caller's deadline, not by Redis, and must neither mark Redis
// down nor be reported as ErrUnavailable. nil when the caller did not give
// up (the store's own Timeout came first, or the call failed earlier).
func gaveUp(ctx, cctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	if own, _ := cctx.Deadline(); dl.After(own) || time.Now().Before(dl) {
		return nil
	}
	return context.DeadlineExceeded
}

// cause returns the cause to report for err, the error of a Redis call
// made with cctx. When the call timed out (the store's Timeout, which
// go-redis turns into a socket deadline and reports as a network i/o
// timeout, or the client's own read/write timeout) the cause also wraps
// context.DeadlineExceeded.
func (h *health) cause(cctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne net.Error
	if errors.Is(cctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errors.Join(context.DeadlineExceeded, err)
	}
	return err
}

// checkClient fails when c is a go-redis client whose calls ignore context
// deadlines (ContextTimeoutEnabled false): the store's Timeout could not
// bound them. Other UniversalClient implementations are not checked.
func checkClient(c redis.UniversalClient) error {
	if c == nil {
		return configError("client", "must not be nil")
	}
	enabled := true
	switch c := c.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
	}
	if !enabled {
		return configError("client", "set ContextTimeoutEnabled in the go-redis options so that the store's Timeout bounds every call")
	}
	return nil
}

// checkPoolTimeout fails when c is a go-redis client whose PoolTimeout is
// not below timeout, the Timeout of the store (named by store: "breaker",
// a Fleet may hold several, each with its own Timeout): a call that finds every pooled
// connection busy would wait until the store's deadline and fail with a
// bare context.DeadlineExceeded, counted as a Redis outage (Redis marked
// down, the degraded policy applied) instead of ErrPoolExhausted. A
// Client's options hold go-redis's default once NewClient has run
// (ReadTimeout + 1 s, or 30 s without a ReadTimeout); a ClusterClient's or
// Ring's leave it zero for each node to default from its own ReadTimeout,
// which is at least a second: a zero one is refused only when timeout is
// at most a second, and not checked above. A negative PoolTimeout (no
// wait) passes. Other UniversalClient implementations are not checked.
func checkPoolTimeout(c redis.UniversalClient, store string, timeout time.Duration) error {
	var pool time.Duration
	switch c := c.(type) {
	case *redis.Client:
		pool = c.Options().PoolTimeout
	case *redis.ClusterClient:
		pool = c.Options().PoolTimeout
	case *redis.Ring:
		pool = c.Options().PoolTimeout
	default:
		return nil
	}
	what := fmt.Sprintf("PoolTimeout (%v)", pool)
	if pool == 0 {
		if timeout > time.Second {
			return nil
		}
		pool, what = time.Second, "default PoolTimeout (ReadTimeout + 1 s, at least 1 s)"
	}
	if pool < timeout {
		return nil
	}
	return configError("client", fmt.Sprintf("the go-redis %s must be below the %s store's Timeout (%v), or a call that finds every pooled connection busy ends at the Timeout and counts as a Redis outage instead of ErrPoolExhausted: set PoolTimeout in the go-redis options (e.g. %v) or raise the %s store's Timeout", what, store, timeout, timeout/2, store))
}

// reportDegraded adds EventDegraded to ctx's span while Redis is marked
// down (transport.DegradationReporter for the stores without a context of
// their own: the layers call it once per request).
// A nil h (a zero store's) reports nothing.
func (h *health) reportDegraded(ctx context.Context) {
	if h != nil && h.down.Load() {
		h.event(ctx)
	}
}

// event adds EventDegraded to the span current in ctx.
func (h *health) event(ctx context.Context) {
	transport.AddEvent(ctx, EventDegraded, h.eventAttr...)
}

// stats returns h's counts; a nil h (a zero store's) has none.
func (h *health) stats() Stats {
	if h == nil {
		return Stats{}
	}
	return Stats{RedisCalls: h.calls.Load(), RedisErrors: h.errs.Load(), Degraded: h.down.Load(), PoolExhausted: h.busy.Load()}
}
