package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/hookpanic"
)

// Circuit breaker defaults (BreakerConfig zero values).
const (
	// DefaultBreakerFailureRatio: the breaker opens when at least half of
	// the attempts in the window failed...
	DefaultBreakerFailureRatio = 0.5
	// DefaultBreakerMinRequests: ...and the window holds at least this
	// many attempts, so a handful of failures on a quiet host does not
	// open it...
	DefaultBreakerMinRequests = 10
	// DefaultBreakerConsecutiveFailures: ...or when this many attempts in
	// a row failed, which catches an outage on a quiet host.
	DefaultBreakerConsecutiveFailures = 5
	// DefaultBreakerWindow: the period failures are counted over.
	DefaultBreakerWindow = 30 * time.Second
	// DefaultBreakerOpenTimeout: how long the breaker stays open before
	// letting one probe through (half-open).
	DefaultBreakerOpenTimeout = 10 * time.Second
	// DefaultBreakerProbeTimeout: a probe that has not answered this long
	// after it was sent counts as failed, so a hung probe cannot keep the
	// breaker half-open forever.
	DefaultBreakerProbeTimeout = 10 * time.Second
)

// Names of the breaker's span events, instruments and attributes.
const (
	// EventBreakerStateChanged: a host's breaker changed state; added to
	// the span of the attempt whose outcome (or arrival) caused it.
	// Attributes: server.address (and server.port, as for MetricRetries),
	// BreakerStateKey (the new state), BreakerFromKey.
	EventBreakerStateChanged = "securecall.breaker.state_changed"
	// MetricBreakerTransitions counts breaker state changes (unit
	// "{transition}"). Attributes: server.address (and server.port, as for
	// MetricRetries), BreakerStateKey (the new state).
	MetricBreakerTransitions = "securecall.breaker.transitions"

	// BreakerStateKey: a breaker state ("closed", "half-open", "open").
	BreakerStateKey = attribute.Key("securecall.breaker.state")
	// BreakerFromKey: the state a breaker left.
	BreakerFromKey = attribute.Key("securecall.breaker.from")
	// BreakerRetryInKey: seconds until an open breaker may let a probe
	// through.
	BreakerRetryInKey = attribute.Key("securecall.breaker.retry_in")
	// BreakerSharedKey: true on an EventBreakerRejected whose refusal came
	// from the fleet's shared state (BreakerConfig.Store) rather than this
	// process's own breaker.
	BreakerSharedKey = attribute.Key("securecall.breaker.shared")
)

// BreakerState is the state of one host's circuit breaker.
type BreakerState uint8

// Breaker states.
const (
	BreakerClosed   BreakerState = iota // requests flow; failures are counted
	BreakerHalfOpen                     // one probe is let through
	BreakerOpen                         // requests fail fast with ErrCircuitOpen
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

func stateOf(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// BreakerConfig configures the circuit breaker layer (NewBreaker). The
// zero value is usable: a host's breaker opens when, over the last 30 s, at
// least 10 attempts were made and half of them failed, or 5 in a row
// failed; it stays open 10 s, then lets one probe through (10 s probe
// timeout).
//
// Inside a stack, the failures of the attempts that shared one connection
// which died (the streams of one HTTP/2 connection, failing at once on a
// reset, a GOAWAY with an error, a read error) count as one failure per
// Window; failures on distinct connections, attempt timeouts, failed
// dials, HTTP/2 stream errors and 5xx count one each. A breaker used on its own counts
// every failure.
type BreakerConfig struct {
	// FailureRatio opens the breaker when failures / attempts in Window
	// reach it (with at least MinRequests attempts). Zero:
	// DefaultBreakerFailureRatio; must be in (0, 1].
	FailureRatio float64
	// MinRequests is the number of attempts Window must hold before
	// FailureRatio applies. Zero: DefaultBreakerMinRequests.
	MinRequests int
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row. Zero: DefaultBreakerConsecutiveFailures; negative: off.
	ConsecutiveFailures int
	// Window is the period attempts are counted over. Zero:
	// DefaultBreakerWindow; at least 1 s.
	Window time.Duration
	// OpenTimeout is how long the breaker stays open. Zero:
	// DefaultBreakerOpenTimeout.
	OpenTimeout time.Duration
	// ProbeTimeout: a half-open probe that has not answered this long
	// after it was sent counts as failed and the breaker opens again. Its
	// wait in a throttle below the breaker (inside a stack: the attempt's
	// own throttle layer) is not counted: the clock starts when the
	// throttle lets it through. Zero: DefaultBreakerProbeTimeout.
	ProbeTimeout time.Duration
	// MaxHosts bounds the number of per-host breakers. Zero:
	// DefaultMaxHosts (least recently used forgotten first, closed
	// breakers before open or half-open ones; each counted in
	// MetricHostsForgotten).
	MaxHosts int
	// OnStateChange, when set, is called on every state change of a
	// host's breaker (synchronously, with the breaker's lock held: it must
	// be quick and must not call the layer). A panic in it is recovered and
	// logged on slog's default logger (naming its value's type only): the
	// state has changed, and the request goes on.
	OnStateChange func(host string, from, to BreakerState)
	// MeterProvider creates MetricBreakerTransitions and
	// MetricHostsForgotten. nil: otel.GetMeterProvider(). One whose
	// instruments panic (a bug in it) has the body in hand closed, and
	// its panic goes on: a transition is made, and OnStateChange told,
	// before it is counted; a request admitted as it was counted counts
	// neither way (the next call is the probe).
	MeterProvider metric.MeterProvider
	// Store, when set, shares "open until T" with other processes (the
	// replicas of a service; see the fleet module). Before sending, the
	// layer asks Store.OpenUntil(host): while it is in the future the
	// request fails fast with a *CircuitOpenError whose Shared field is
	// true, even if this process's own breaker is closed, and nothing is
	// sent. When this process's breaker opens, the layer publishes its
	// end with Store.SetOpenUntil, from the request that observed the
	// change (never under the breaker's lock), when the host's failures
	// opened it: a failure that is evidence about this process rather
	// than the host (any DNS error, a proxy that cannot be reached or
	// that answers the CONNECT with a 5xx (a *ProxyConnectError),
	// ENETUNREACH, EADDRNOTAVAIL, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM,
	// EACCES) counts in this process's breaker but is left out when
	// deciding whether to publish: the thresholds must be met without it
	// (a failed half-open probe must be the host's). Failure counting
	// stays local. Once T has passed, every process resumes sending: a process
	// whose own breaker opened lets one probe through, the others send
	// freely and count their own outcomes. nil: not shared. A store
	// that panics (a bug in it) has the request's body closed (before the
	// send) or the response in hand (after), and its panic goes on.
	Store BreakerStore
}

func (c BreakerConfig) resolve() (BreakerConfig, error) {
	if err := configerr.Unconstructed("BreakerConfig.Store", c.Store); err != nil {
		return c, err
	}
	if err := typedNil("BreakerConfig.Store", c.Store); err != nil {
		return c, err
	}
	if err := typedNil("BreakerConfig.MeterProvider", c.MeterProvider); err != nil {
		return c, err
	}
	if c.FailureRatio == 0 {
		c.FailureRatio = DefaultBreakerFailureRatio
	}
	if !(c.FailureRatio > 0 && c.FailureRatio <= 1) {
		return c, configErrorf("BreakerConfig.FailureRatio", nil, "must be in (0, 1], got %v", c.FailureRatio)
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultBreakerMinRequests
	}
	if c.MinRequests < 1 {
		return c, configErrorf("BreakerConfig.MinRequests", nil, "must be at least 1, got %d", c.MinRequests)
	}
	switch {
	case c.ConsecutiveFailures == 0:
		c.ConsecutiveFailures = DefaultBreakerConsecutiveFailures
	case c.ConsecutiveFailures < 0:
		c.ConsecutiveFailures = math.MaxInt
	}
	if c.Window == 0 {
		c.Window = DefaultBreakerWindow
	}
	if c.Window < time.Second {
		return c, configErrorf("BreakerConfig.Window", nil, "must be at least 1s, got %v", c.Window)
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = DefaultBreakerOpenTimeout
	}
	if c.OpenTimeout < 0 {
		return c, configErrorf("BreakerConfig.OpenTimeout", nil, "must be positive, got %v", c.OpenTimeout)
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultBreakerProbeTimeout
	}
	if c.ProbeTimeout < 0 {
		return c, configErrorf("BreakerConfig.ProbeTimeout", nil, "must be positive, got %v", c.ProbeTimeout)
	}
	if c.MaxHosts < 0 {
		return c, configErrorf("BreakerConfig.MaxHosts", nil, "must not be negative, got %d", c.MaxHosts)
	}
	return c, nil
}

// CircuitOpenError is the error of a request the breaker refused: Host's
// breaker is open (or half-open with its one probe in flight) and may let
// a request through again at Until. errors.Is(err, ErrCircuitOpen) is
// true. The retry layer never retries it.
type CircuitOpenError struct {
	Host  string
	Until time.Time
	State BreakerState
	// Shared reports that the refusal came from the shared state
	// (BreakerConfig.Store): another process's breaker for Host is open
	// until Until, whatever the state of this process's own breaker.
	Shared bool
}

func (e *CircuitOpenError) Error() string {
	s := "transport: circuit " + e.State.String()
	if e.Shared {
		s += " (shared)"
	}
	return s + " for " + e.Host + " until " + e.Until.UTC().Format(time.RFC3339Nano)
}

// Unwrap returns ErrCircuitOpen.
func (e *CircuitOpenError) Unwrap() error { return ErrCircuitOpen }

// Outcome values reported to gobreaker.
var (
	errBreakerFailure  = errors.New("transport: breaker: failure")
	errBreakerLocal    = errors.New("transport: breaker: failure of this process") // replicaFault: not shared
	errBreakerExcluded = errors.New("transport: breaker: excluded")
	errProbeTimeout    = errors.New("transport: breaker: probe timed out")
)

// NewBreaker returns the circuit breaker layer: one breaker per host
// (HostKey) in a bounded registry, each a gobreaker TwoStepCircuitBreaker.
//
// An attempt's outcome is judged by Classify: connect errors, broken
// connections, attempt timeouts and 5xx other than 501 are failures, and
// so is an attempt that reached the host (it had a connection, or its
// dial failed) when the total timeout (NewTotalTimeout, above the retry
// layer) ran out with the caller's context still live;
// 429 (the throttle's business), the caller's own cancellation, a failed
// Read of the request's own body (the caller's reader: the breaker watches
// a body other than http.NewRequest's in-memory ones, and an attempt that
// failed with that body's error is the caller's), and
// client-side refusals (certificate and TLS failures, egress, credentials,
// throttle, a malformed request: Go's HTTP/2 transport refusing a
// connection-specific header, or a header list over the server's limit,
// is returned as matching ErrInvalidRequest)
// count neither way; everything else is a success. The breaker
// opens on cfg's thresholds, stays open cfg.OpenTimeout, then lets one
// probe through: its success closes the breaker, its failure (or no answer
// within cfg.ProbeTimeout of its send, a throttle's wait below not counted)
// opens it again. While open (or half-open with
// the probe in flight) a request is not sent: RoundTrip closes its body
// and returns a *CircuitOpenError naming the host and when it may close.
// A panic below the breaker (a bug in a caller's component: a layer, the
// base transport, a throttle's Quota) or in cfg.Store while a request
// admitted by a breaker that is not closed is in hand goes on unchanged,
// and that request counts neither way: a half-open probe's panic lets the
// next call probe.
//
// It belongs inside the retry loop, so every attempt is counted, and above
// the throttle, so a refused request takes no token. While a host's
// breaker is closed the layer takes no lock: outcomes are counted with
// atomics and gobreaker is only consulted on a failure or while the
// breaker is not closed.
//
// With cfg.Store set, the breaker's "open until" is shared with other
// processes (see BreakerConfig.Store), unless only this process's own
// failures (DNS, its proxy, its network stack) opened it; the check is
// one call to the store's OpenUntil per request.
//
// Span events: EventBreakerRejected (server.address and server.port, as
// for MetricRetries, BreakerStateKey,
// BreakerRetryInKey, and BreakerSharedKey when the refusal came from
// cfg.Store), EventBreakerStateChanged. A nil next means
// http.DefaultTransport. Bad configuration is a *ConfigError.
func NewBreaker(next http.RoundTripper, cfg BreakerConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	l := &breakerLayer{next: orDefault(next), cfg: c, clk: sysClock}
	l.storeAt, _ = c.Store.(BreakerStoreAt)
	meter := meterOf(c.MeterProvider)
	if l.transitions, err = meter.Int64Counter(MetricBreakerTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("State changes of securecall's per-host circuit breakers.")); err != nil || l.transitions == nil {
		otelHandle(err)
		l.transitions = metricnoop.Int64Counter{}
	}
	l.hosts.init(c.MaxHosts, l.newHost)
	// An open or half-open breaker is forgotten last: a fresh one is
	// closed and would send to the failing host again.
	l.hosts.busy = func(h *breakerHost) bool { return BreakerState(h.state.Load()) != BreakerClosed }
	l.hosts.forgotten = newForgetCounter(meter, "breaker")
	return l, nil
}

type breakerLayer struct {
	next        http.RoundTripper
	cfg         BreakerConfig
	storeAt     BreakerStoreAt // cfg.Store, when it takes the caller's clock
	hosts       registry[breakerHost]
	transitions metric.Int64Counter
	clk         clock
}

// breakerHost is one host's breaker. state mirrors gobreaker's state (set
// in OnStateChange, under gobreaker's lock) so the closed-state fast path
// reads one atomic.
type breakerHost struct {
	host        string
	cb          *gobreaker.TwoStepCircuitBreaker[struct{}]
	state       atomic.Int32 // a BreakerState
	openUntil   atomic.Int64 // ticks (see clock): on the monotonic clock
	shareUntil  atomic.Int64 // the last openUntil the host's failures opened (see onStateChange)
	published   atomic.Int64 // the last shareUntil given to the Store
	consecutive atomic.Int64
	win         window // a: attempts, b: failures; in ticks
	changes     atomic.Uint64
	from        atomic.Int32 // the state left by the last change

	// With a Store: the failures that are evidence about this process
	// (replicaFault), in a (local; b unused), and the consecutive
	// failures that are not (hostRun: a replicaFault is skipped).
	local   window
	hostRun atomic.Int64
	// lastLocal: the outcome gobreaker is applying is a replicaFault (set
	// in IsSuccessful, read in OnStateChange: both under its lock).
	lastLocal bool

	mu    sync.Mutex
	probe *breakerProbe // the half-open probe in flight, if any

	deadMu sync.Mutex
	dead   [deadConns]deadConn // connections a failure was counted for
	deadAt int                 // the next slot of dead to reuse
}

// breakerProbe is a half-open probe: report reaches gobreaker once,
// whether from the probe's own outcome or from its timeout.
//
// Its timeout runs from its send, not from its admission: a throttle
// below the breaker in the attempt's stack (which finds the probe in the
// attempt, Attempt.probe) holds its clock while the probe waits there
// (hold) and starts it when it lets the probe through (sent). A wait the
// client imposed on itself says nothing about the host. Without such a
// throttle the clock runs from the admission.
type breakerProbe struct {
	l *breakerLayer
	// end (ticks: see clock) is when the probe counts as failed;
	// probeHeld while a throttle below holds it.
	end  atomic.Int64
	done func(error)
	once sync.Once
}

// probeHeld is the end of a probe waiting in a throttle below the breaker.
const probeHeld = math.MaxInt64

func (p *breakerProbe) report(err error) { p.once.Do(func() { p.done(err) }) }

// hold stops p's clock: a throttle below the breaker may make it wait.
func (p *breakerProbe) hold() { p.end.Store(probeHeld) }

// sent starts p's clock again, from now: the throttle lets it through.
func (p *breakerProbe) sent() {
	clk := p.l.clk
	p.end.Store(clk.After(clk.Now(), p.l.cfg.ProbeTimeout))
}

func (l *breakerLayer) newHost(host string) *breakerHost {
	h := &breakerHost{host: host}
	h.win.init(l.cfg.Window)
	h.local.init(l.cfg.Window)
	h.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        host,
		MaxRequests: 1,
		Timeout:     l.cfg.OpenTimeout,
		ReadyToTrip: func(gobreaker.Counts) bool { return l.shouldTrip(h) },
		IsSuccessful: func(err error) bool {
			h.lastLocal = err == errBreakerLocal
			return err == nil
		},
		IsExcluded: func(err error) bool { return err == errBreakerExcluded },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			l.onStateChange(h, stateOf(from), stateOf(to))
		},
	})
	return h
}

// shouldTrip is gobreaker's ReadyToTrip, called (under its lock) on a
// failure in the closed state; it reads the layer's own counters.
func (l *breakerLayer) shouldTrip(h *breakerHost) bool {
	if h.consecutive.Load() >= int64(l.cfg.ConsecutiveFailures) {
		return true
	}
	total, failures := h.win.totals(l.clk.Mono(l.clk.Now()))
	return total >= int64(l.cfg.MinRequests) && float64(failures) >= l.cfg.FailureRatio*float64(total)
}

// hostTrip reports whether h's thresholds are met by the failures that
// are evidence about the host, those of this process (replicaFault) left
// out of the counts: whether its opening may be shared.
func (l *breakerLayer) hostTrip(h *breakerHost, now int64) bool {
	if h.hostRun.Load() >= int64(l.cfg.ConsecutiveFailures) {
		return true
	}
	total, failures := h.win.totals(now)
	local, _ := h.local.totals(now)
	total, failures = total-local, failures-local
	return total >= int64(l.cfg.MinRequests) && float64(failures) >= l.cfg.FailureRatio*float64(total)
}

// onStateChange runs under gobreaker's lock.
func (l *breakerLayer) onStateChange(h *breakerHost, from, to BreakerState) {
	if to == BreakerOpen {
		now := l.clk.Now()
		u := l.clk.After(now, l.cfg.OpenTimeout)
		h.openUntil.Store(u)
		// Shared (see publish) when the host's failures opened it: a
		// failed probe that was not a replicaFault, or, from closed, the
		// thresholds met without this process's own failures.
		if l.cfg.Store != nil && (from == BreakerHalfOpen && !h.lastLocal || from == BreakerClosed && l.hostTrip(h, l.clk.Mono(now))) {
			h.shareUntil.Store(u)
		}
	}
	h.win.reset()
	h.local.reset()
	h.hostRun.Store(0)
	h.consecutive.Store(0)
	if to != BreakerHalfOpen {
		h.mu.Lock()
		h.probe = nil
		h.mu.Unlock()
	}
	h.from.Store(int32(from))
	h.state.Store(int32(to))
	h.changes.Add(1)
	if l.cfg.OnStateChange != nil {
		callStateHook(l.cfg.OnStateChange, h.host, from, to)
	}
	// Last: the caller's instrument may panic (a bug in its
	// MeterProvider), and its panic goes on (gobreaker unlocks on the
	// way), with the change made and the hook told; the layer closes the
	// body in hand (admitHolding, recordHolding).
	if l.transitions.Enabled(context.Background()) {
		l.transitions.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(
			hostKeyAttrs(h.host, []attribute.KeyValue{BreakerStateKey.String(to.String())})...)))
	}
}

// callStateHook calls the caller's OnStateChange. The state has changed
// before: a panic in the hook (a bug in it) is recovered and logged
// (hookpanic), as OnPinEvent's is, instead of unwinding through the
// request (which lost the response in hand, its body and connection, or
// left the request's body unclosed).
func callStateHook(f func(host string, from, to BreakerState), host string, from, to BreakerState) {
	defer hookpanic.Recover("transport: BreakerConfig.OnStateChange")
	f(host, from, to)
}

func (l *breakerLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	a := ownAttempt(req)
	now := a.clockWith(l.clk.Now)
	h := l.hosts.getFor(a.hostKey(req.URL), l.clk.Mono(now), req)
	changes := h.changes.Load()

	if l.cfg.Store != nil {
		if err := l.askStore(ctx, a, h, now, req); err != nil {
			closeBody(req)
			addHostEvent(ctx, EventBreakerRejected, h.host,
				BreakerStateKey.String(err.State.String()), BreakerRetryInKey.Float64(err.Until.Sub(now).Seconds()),
				BreakerSharedKey.Bool(err.Shared))
			return nil, err
		}
	}

	var done func(error) // nil on the closed-state fast path
	returned := false    // next returned: a panic below did not unwind past here
	if BreakerState(h.state.Load()) != BreakerClosed {
		p, d, err := l.admitHolding(h, now, req)
		if d != nil {
			// A panic between the admission and next's return (the
			// Store's SetOpenUntil just below; below the breaker, a
			// caller's component: a throttle's Quota, a layer, the base
			// transport) goes on unchanged, but the admitted request is
			// reported first, excluded (it says nothing of the host):
			// unreported, a half-open probe stayed in flight, every later
			// call refused until ProbeTimeout failed it and reopened the
			// breaker, and for good when a throttle below held its clock.
			// Only a request admitted while the breaker is not closed
			// has this guard: the closed-state fast path has none.
			defer func() {
				if !returned {
					if a != nil {
						a.probe = nil
					}
					excludeUnwinding(d)
				}
			}()
		}
		l.publish(h, now, req, nil)
		l.stateEvent(ctx, h, changes)
		if err != nil {
			closeBody(req)
			addHostEvent(ctx, EventBreakerRejected, h.host,
				BreakerStateKey.String(err.State.String()), BreakerRetryInKey.Float64(max(err.Until.Sub(now), 0).Seconds()))
			return nil, err
		}
		done = d
		changes = h.changes.Load()
		if p != nil && a != nil {
			// A throttle below holds the probe's clock while it waits
			// (until next returns: the attempt is not reused after).
			a.probe = p
		}
	}

	// Inside a stack, learn the connection the attempt uses, so that the
	// streams of one dead connection count as one failure (see
	// connFailure). A pooled probe: no allocation. Armed once the attempt
	// is admitted: a refused one never sends.
	var probe *connProbe
	if a != nil && a.conn.Load() == nil && httptraceKey != nil {
		probe = armConnProbe(a)
	}
	// A failure of the request's own body (the caller's reader) is the
	// caller's, not the host's: the body is watched to tell it apart.
	var body *callerBody
	if req.Body != nil && req.Body != http.NoBody && !inMemoryBody(req.Body) {
		body = &callerBody{ReadCloser: req.Body}
		if a == nil {
			req = req.WithContext(ctx) // the caller's request is not ours to change
		}
		req.Body = body
	}
	resp, err := l.next.RoundTrip(req)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if done != nil && a != nil {
		a.probe = nil
	}
	if err != nil {
		err = invalidForHTTP2(req, err) // the caller's error, not the host's
	}
	var conn net.Conn
	if probe != nil {
		conn = probe.disarm(a)
	}

	// The attempt is counted in the time slice it started in: no second
	// clock read (but for a failure slower than the window: see record).
	// An attempt sent on the closed-state fast path whose
	// breaker changed state meanwhile belongs to a past generation and is
	// not counted (gobreaker discards such outcomes too): a failure would
	// otherwise be reported in the new state, and, once the open timeout
	// has run out, take the half-open probe's place and reopen the breaker
	// without a probe having been sent. So is a probe whose breaker
	// changed state meanwhile: only its timeout does that while it is in
	// flight (another request declared it failed, which reopened the
	// breaker), and its late outcome, counted, would be a second count of
	// it, in a state (a later probe's closed one) it has no part in. It is
	// only reported (a no-op: its report was the timeout's).
	stale := h.changes.Load() != changes
	if done != nil || !stale {
		outcome := BreakerSuccess
		if err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			outcome = Classify(ctx, resp, err, now).Breaker
			if outcome == BreakerExcluded && err != nil && totalDeadlineRanOut(a, ctx) && (conn != nil || hasDialError(err)) {
				// Securecall's own total timeout, not the caller, ended an
				// attempt that reached the host: judged as if the deadline
				// were the attempt's (a credential or key failure, a
				// throttle wait, stays excluded).
				outcome = Classify(context.Background(), resp, err, now).Breaker
			}
		}
		if outcome == BreakerFailure && body.failed(err) {
			outcome = BreakerExcluded // the caller's body failed its Read
		}
		if outcome == BreakerFailure && done == nil && conn != nil && connFailure(err) && h.sameDeadConn(conn, l.cfg.Window, l.clk.Mono(now)) {
			outcome = BreakerExcluded // counted already, from another stream of conn
		}
		// A failure that is evidence about this process, not the host,
		// counts here but opens nothing in the fleet (see replicaFault).
		local := outcome == BreakerFailure && err != nil && l.cfg.Store != nil && replicaFault(err)
		if done != nil || outcome == BreakerFailure {
			// gobreaker is told, and may change state: the caller's
			// transitions counter may panic with resp in hand.
			l.recordHolding(h, done, outcome, local, now, stale, resp)
		} else if !stale {
			l.record(h, done, outcome, local, now)
		}
	}
	if h.changes.Load() != changes {
		l.publish(h, now, nil, resp)
		l.stateEvent(ctx, h, changes)
	}
	return resp, err
}

// callerBody is the body of a request the breaker sends: it keeps the
// error a Read of the caller's body returned (net/http fails the attempt
// with that very error, over HTTP/1.1 and HTTP/2), so that the caller's
// failing reader (a file on a failing disk, a pipe whose writer gave up)
// is not counted as a failure of the host. The transport may read it on
// another goroutine, after RoundTrip has returned: the error is atomic.
type callerBody struct {
	io.ReadCloser
	err atomic.Pointer[error]
}

// UnwrapBody returns the body b watches: reqbody.Same looks through b
// for a GetBody that returns the request's own body, which the sign
// layer, the retry layer and the 401 replay refuse
// (signer.ErrBodyNotReplayable).
func (b *callerBody) UnwrapBody() io.ReadCloser { return b.ReadCloser }

func (b *callerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err.Load() == nil {
		b.err.Store(&err)
	}
	return n, err
}

// nopCloserTypes are the types io.NopCloser returns: over a reader with
// a WriteTo method, and without.
var nopCloserTypes = [2]reflect.Type{
	reflect.TypeOf(io.NopCloser(strings.NewReader(""))),
	reflect.TypeOf(io.NopCloser(struct{ io.Reader }{})),
}

// inMemoryBody reports a body whose Read cannot fail: io.NopCloser over a
// *bytes.Reader, *strings.Reader or *bytes.Buffer (what http.NewRequest
// and its GetBody make). The breaker does not watch it (no allocation).
func inMemoryBody(rc io.ReadCloser) bool {
	t := reflect.TypeOf(rc)
	if t != nopCloserTypes[0] && t != nopCloserTypes[1] {
		return false
	}
	v := reflect.ValueOf(rc)
	if v.NumField() != 1 || v.Field(0).Kind() != reflect.Interface || v.Field(0).IsNil() {
		return false
	}
	switch v.Field(0).Elem().Type() {
	case bytesReaderType, stringsReaderType, bytesBufferType:
		return true
	}
	return false
}

var (
	bytesReaderType   = reflect.TypeFor[*bytes.Reader]()
	stringsReaderType = reflect.TypeFor[*strings.Reader]()
	bytesBufferType   = reflect.TypeFor[*bytes.Buffer]()
)

// failed reports whether err, an attempt's error, is the failure of a
// Read of b (nil: no body).
func (b *callerBody) failed(err error) bool {
	if b == nil || err == nil {
		return false
	}
	be := b.err.Load()
	return be != nil && errors.Is(err, *be)
}

// totalDeadlineRanOut reports that ctx, the context of a's attempt, ended
// because the total timeout's deadline (the stack's own, set by
// NewTotalTimeout just above the retry layer) passed while the caller's
// context was still live: the call ran out of the time securecall gave
// it, not of the caller's. A hung host is then at fault, as it is for an
// attempt timeout.
func totalDeadlineRanOut(a *Attempt, ctx context.Context) bool {
	if a == nil || ctx != context.Context(a.ctx) {
		return false
	}
	cd, ok := a.ctx.Context.(*callDeadline)
	return ok && cd.parent.Err() == nil && cd.Err() == context.DeadlineExceeded
}

// sharedSlack: a shared open end at most this much later than this
// process's own is taken for its own (a store that keeps milliseconds
// rounds up).
const sharedSlack = time.Millisecond

// askStore reports the store's degradation (DegradationReporter) and
// returns sharedOpen's refusal, before req is handed on: a panic of the
// store (a bug in a BreakerStore of the caller's) goes on unchanged, but
// req's body is closed first, as RoundTrip must on every path.
func (l *breakerLayer) askStore(ctx context.Context, a *Attempt, h *breakerHost, now time.Time, req *http.Request) *CircuitOpenError {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	if r, ok := l.cfg.Store.(DegradationReporter); ok {
		r.ReportDegraded(ctx)
	}
	w0, counted := waitsOf(l.cfg.Store)
	err := l.sharedOpen(h, now)
	if mayHaveWaited(l.cfg.Store, w0, counted) {
		a.clockMoved() // the store may have blocked
	}
	returned = true
	return err
}

// sharedOpen returns the refusal of a request to h while the Store says
// the host's breaker is open in the fleet. A time the store holds that is
// not later than this process's own open end (within sharedSlack) is this
// process's own (it published it), and is reported as a local refusal;
// one earlier than a live own end (an opening not published: see
// BreakerConfig.Store) is refused until that own end.
func (l *breakerLayer) sharedOpen(h *breakerHost, now time.Time) *CircuitOpenError {
	var until time.Time
	if l.storeAt != nil {
		until = l.storeAt.OpenUntilAt(h.host, now)
	} else {
		until = l.cfg.Store.OpenUntil(h.host)
	}
	if !until.After(now) {
		return nil
	}
	// u - own, not own + sharedSlack: an own end saturated by a huge
	// OpenTimeout plus the slack would wrap into the past.
	u, own := l.clk.Ticks(until, now), h.openUntil.Load()
	shared := u > own && u-own > int64(sharedSlack)
	if own > u {
		// This process's own breaker is open longer: an opening of its
		// own failures (replicaFault), not published, under another
		// process's earlier one. It sends nothing before its own end.
		until = l.clk.Time(own, now)
	}
	return &CircuitOpenError{Host: h.host, Until: until, State: BreakerOpen, Shared: shared}
}

// publish gives the Store the end of h's open state when h opened since
// the last publication; of the requests that observe one opening, exactly
// one publishes it. It runs on the request's goroutine, outside
// gobreaker's lock. A panic of the store (a bug in a BreakerStore of the
// caller's) goes on unchanged, but what the request holds is closed
// first, as RoundTrip must on every path: resp, the response in hand, or,
// before the send, req's body.
func (l *breakerLayer) publish(h *breakerHost, now time.Time, req *http.Request, resp *http.Response) {
	if l.cfg.Store == nil {
		return
	}
	u := h.shareUntil.Load()
	p := h.published.Load()
	if u <= p || u <= l.clk.Mono(now) || !h.published.CompareAndSwap(p, u) {
		return
	}
	returned := false
	defer func() {
		if !returned {
			if resp != nil {
				closeResponse(resp)
			} else if req != nil {
				closeBody(req)
			}
		}
	}()
	l.cfg.Store.SetOpenUntil(h.host, l.clk.Time(u, now))
	returned = true
}

// admit asks gobreaker to let a request through while the breaker is not
// closed. It returns the report function of an admitted request (and the
// probe, when it is the half-open probe), or the refusal.
func (l *breakerLayer) admit(h *breakerHost, now time.Time) (*breakerProbe, func(error), *CircuitOpenError) {
	done, err := h.cb.Allow()
	switch {
	case err == nil:
		if BreakerState(h.state.Load()) != BreakerHalfOpen {
			return nil, done, nil
		}
		p := &breakerProbe{l: l, done: done}
		p.end.Store(l.clk.After(now, l.cfg.ProbeTimeout))
		h.mu.Lock()
		h.probe = p
		h.mu.Unlock()
		return p, p.report, nil
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		// Half-open with the probe in flight. A probe sent longer ago
		// than the probe timeout is declared failed, which opens the
		// breaker again; one waiting in a throttle below is not sent yet.
		h.mu.Lock()
		p := h.probe
		h.mu.Unlock()
		until := now.Add(l.cfg.ProbeTimeout)
		if p != nil {
			if end := p.end.Load(); end != probeHeld {
				if l.clk.Mono(now) >= end {
					p.report(errProbeTimeout)
					return nil, nil, &CircuitOpenError{Host: h.host, Until: l.clk.Time(h.openUntil.Load(), now), State: BreakerOpen}
				}
				until = l.clk.Time(end, now)
			}
		}
		return nil, nil, &CircuitOpenError{Host: h.host, Until: until, State: BreakerHalfOpen}
	default: // gobreaker.ErrOpenState
		return nil, nil, &CircuitOpenError{Host: h.host, Until: l.clk.Time(h.openUntil.Load(), now), State: BreakerOpen}
	}
}

// admitHolding is admit with req in hand: a panic of the caller's
// transitions counter as the breaker changes state (open to half-open, a
// probe timed out: half-open to open) has req's body closed, as RoundTrip
// must on every path, and goes on unchanged; the request was not admitted
// (gobreaker counted it neither way: the next call is the probe).
func (l *breakerLayer) admitHolding(h *breakerHost, now time.Time, req *http.Request) (*breakerProbe, func(error), *CircuitOpenError) {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	p, d, err := l.admit(h, now)
	returned = true
	return p, d, err
}

// recordHolding is record (reportOutcome when stale) with resp, the
// attempt's response (nil: none), in hand: a panic of the caller's
// transitions counter as the breaker changes state has resp's body closed
// (its connection not leaked, a throttle's slot below given back), and
// goes on unchanged, the change made.
func (l *breakerLayer) recordHolding(h *breakerHost, done func(error), outcome BreakerOutcome, local bool, now time.Time, stale bool, resp *http.Response) {
	returned := false
	defer func() {
		if !returned {
			closeResponse(resp)
		}
	}()
	if stale {
		reportOutcome(done, outcome, local)
	} else {
		l.record(h, done, outcome, local, now)
	}
	returned = true
}

// excludeUnwinding reports an admitted request excluded while a panic
// below is on its way to the caller: a panic of the caller's transitions
// counter there (a state change gobreaker makes as it is told) is dropped,
// so that the caller sees the first panic.
func excludeUnwinding(done func(error)) {
	defer func() { _ = recover() }()
	done(errBreakerExcluded)
}

// record counts an attempt's outcome. On the fast path (done nil, breaker
// closed) a success touches only atomics; a failure is also reported to
// gobreaker, whose ReadyToTrip reads the layer's counters.
func (l *breakerLayer) record(h *breakerHost, done func(error), outcome BreakerOutcome, local bool, now time.Time) {
	switch outcome {
	case BreakerExcluded:
		if done != nil {
			done(errBreakerExcluded)
		}
	case BreakerSuccess:
		h.win.add(l.clk.Mono(now), 1, 0)
		if h.consecutive.Load() != 0 {
			h.consecutive.Store(0)
			h.hostRun.Store(0)
		}
		if done != nil {
			done(nil)
		}
	case BreakerFailure:
		// Counted in the slice it started in, unless that slice has left
		// the window (an attempt slower than the window: a hanging host,
		// a long throttle wait): then when it is known, or the failures
		// of a host whose attempts hang would never reach the ratio.
		t := l.clk.Mono(now)
		if fresh := l.clk.Mono(l.clk.Now()); h.win.left(t, fresh) {
			t = fresh
		}
		h.win.add(t, 1, 1)
		h.consecutive.Add(1)
		if local {
			h.local.add(t, 1, 0)
		} else {
			h.hostRun.Add(1)
		}
		if done == nil {
			d, err := h.cb.Allow()
			if err != nil {
				return // opened meanwhile by another attempt
			}
			done = d
		}
		done(failureOf(local))
	}
}

// reportOutcome hands an outcome to gobreaker through done alone,
// without the layer's counters.
func reportOutcome(done func(error), outcome BreakerOutcome, local bool) {
	switch outcome {
	case BreakerExcluded:
		done(errBreakerExcluded)
	case BreakerSuccess:
		done(nil)
	case BreakerFailure:
		done(failureOf(local))
	}
}

// failureOf is the failure gobreaker is told of: errBreakerLocal for a
// replicaFault (local), which opens no shared state.
func failureOf(local bool) error {
	if local {
		return errBreakerLocal
	}
	return errBreakerFailure
}

// stateEvent adds EventBreakerStateChanged to ctx's span when h changed
// state since changes was read.
func (l *breakerLayer) stateEvent(ctx context.Context, h *breakerHost, changes uint64) {
	if h.changes.Load() == changes {
		return
	}
	addHostEvent(ctx, EventBreakerStateChanged, h.host,
		BreakerStateKey.String(BreakerState(h.state.Load()).String()),
		BreakerFromKey.String(BreakerState(h.from.Load()).String()))
}

// One dead connection, one failure.
//
// When an HTTP/2 connection dies (a reset, a read error, a GOAWAY with an
// error, the server closing it), every stream in flight on it fails at
// once: one network event, which must not count as N failures and open the
// host's breaker on its own. The breaker learns the connection each
// attempt used from net/http's httptrace GotConn hook, and counts a
// connection failure of a connection it has already counted a failure of
// (within the window) as excluded.
//
// The hook costs nothing on the hot path: the trace is answered by the
// attempt's own context (attemptCtx.Value, for net/http's
// httptrace key, captured once below), and its GotConn closure lives in a
// pooled connProbe. A caller's own ClientTrace is kept: the attempt then
// gets a composed trace (allocated: the rare case). The standalone breaker
// (no Attempt) cannot learn connections without allocating, and counts
// every failure.

// deadConns is how many failed connections a host's breaker remembers.
// Failures of more connections interleaving are counted more than once
// (the safe side).
const deadConns = 8

// deadConn is a connection a failure was counted for, held weakly: a dead
// connection (with its buffers) is not kept in memory by a host that sees
// no further failure, and a new connection allocated where a collected one
// was is never taken for it (weak pointers to distinct objects differ).
type deadConn struct {
	id connID
	at int64 // ticks: when a failure of conn was counted
}

// connID identifies a connection without keeping it alive: the zero
// connID is none.
type connID struct {
	tls *weakTLSConn
	tcp *weakTCPConn
}

type (
	weakTLSConn = weak.Pointer[tls.Conn]
	weakTCPConn = weak.Pointer[net.TCPConn]
)

// connIDOf returns c's identity: for the connection types net/http hands
// a GotConn hook from a stack's base transport (TLS, or TCP for plain
// http), and none for another type (its failures count each).
func connIDOf(c net.Conn) (connID, bool) {
	switch c := c.(type) {
	case *tls.Conn:
		w := weak.Make(c)
		return connID{tls: &w}, true
	case *net.TCPConn:
		w := weak.Make(c)
		return connID{tcp: &w}, true
	}
	return connID{}, false
}

func (id connID) zero() bool { return id.tls == nil && id.tcp == nil }

func (id connID) equal(o connID) bool {
	switch {
	case id.tls != nil:
		return o.tls != nil && *id.tls == *o.tls
	case id.tcp != nil:
		return o.tcp != nil && *id.tcp == *o.tcp
	}
	return false
}

// httptraceKey is net/http/httptrace's (unexported) context key for a
// ClientTrace, nil if it could not be learnt (then connections are not
// learnt and every failure counts).
var httptraceKey = func() any {
	var k keyCatcher
	httptrace.ContextClientTrace(&k)
	return k.key
}()

// keyCatcher records the key it is asked for.
type keyCatcher struct {
	context.Context
	key any
}

func (k *keyCatcher) Value(key any) any { k.key = key; return nil }

// connProbe is the ClientTrace of one attempt: GotConn records the
// connection. net/http calls GotConn on the attempt's goroutine, before
// RoundTrip returns (for HTTP/2 once per connection tried: the last one is
// the one that failed).
type connProbe struct {
	trace  *httptrace.ClientTrace // only GotConn set, never changed: net/http may read it after the attempt
	user   *httptrace.ClientTrace // the caller's own trace, if any
	conn   net.Conn
	reused bool // conn was a pooled connection (GotConnInfo.Reused)
	// hookErr is the error the caller's Got1xxResponse hook returned, by
	// which net/http aborted the attempt (only a probe with user sets it).
	hookErr atomic.Pointer[error]
}

var connProbes = sync.Pool{New: func() any {
	p := &connProbe{}
	p.trace = &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { p.conn, p.reused = i.Conn, i.Reused }}
	return p
}}

// armConnProbe sets a's probe: a pooled one, or, when the caller's context
// has a ClientTrace of its own, one whose trace composes with it.
func armConnProbe(a *Attempt) *connProbe {
	user := httptrace.ContextClientTrace(a.ctx.Context)
	if user == nil {
		p := connProbes.Get().(*connProbe)
		a.conn.Store(p)
		return p
	}
	p := &connProbe{user: user}
	t := *user
	t.GotConn = func(i httptrace.GotConnInfo) {
		p.conn, p.reused = i.Conn, i.Reused
		if user.GotConn != nil {
			user.GotConn(i)
		}
	}
	if hook := user.Got1xxResponse; hook != nil {
		// An error of the caller's hook aborts the request (net/http's
		// way to stop at an informational response): the caller's
		// decision, which the base reports as such (hookAborted).
		t.Got1xxResponse = func(code int, h textproto.MIMEHeader) error {
			err := hook(code, h)
			if err != nil {
				p.hookErr.Store(&err)
			}
			return err
		}
	}
	p.trace = &t
	a.conn.Store(p)
	return p
}

// hookAborted returns err, the failure of an attempt whose probe was p
// (nil: none), as a *TraceHookError when the caller's Got1xxResponse
// hook aborted the attempt.
func (p *connProbe) hookAborted(err error) error {
	if p == nil || p.user == nil {
		return err
	}
	if hook := p.hookErr.Load(); hook != nil {
		return &TraceHookError{Hook: *hook, Err: err}
	}
	return err
}

// disarm removes p from a and returns the connection the attempt used
// (nil if none, or if it cannot be compared).
func (p *connProbe) disarm(a *Attempt) net.Conn {
	a.conn.Store(nil)
	c := p.conn
	p.conn, p.reused = nil, false
	if p.user == nil {
		connProbes.Put(p)
	}
	if c == nil || reflect.TypeOf(c).Kind() != reflect.Pointer {
		return nil
	}
	return c
}

// connFailure reports an error that may be the death of the attempt's
// connection, shared by its other streams: anything but an HTTP/2 stream
// error (one stream's, the connection lives on), a timeout (each
// attempt's own, on a hung host each counts) and a failed dial (net/http
// resending the request on a new connection, the one GotConn reported
// left behind: each attempt's own dial).
func connFailure(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || hasDialError(err) {
		return false
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return false
	}
	var se h2StreamError
	return !errors.As(err, &se)
}

// sameDeadConn records a failure of conn at t (ticks) and reports whether
// a failure of conn was already recorded within window: then it is not
// counted again. Remembered connections older than the window are
// dropped (the dead connection is not kept alive).
func (h *breakerHost) sameDeadConn(conn net.Conn, window time.Duration, t int64) bool {
	id, ok := connIDOf(conn)
	if !ok {
		return false
	}
	h.deadMu.Lock()
	defer h.deadMu.Unlock()
	w := int64(window)
	for i := range h.dead {
		d := &h.dead[i]
		if d.id.zero() {
			continue
		}
		if t-d.at >= w {
			*d = deadConn{}
			continue
		}
		if d.id.equal(id) {
			return true
		}
	}
	h.dead[h.deadAt] = deadConn{id: id, at: t}
	h.deadAt = (h.deadAt + 1) % deadConns
	return false
}
