package client

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/securecall/securecall/transport"
)

// DefaultPreset is the resilience preset a client uses unless told
// otherwise: transport.StandardPreset (total 30 s, attempt 10 s, 3 attempts
// with full-jitter backoff from 200 ms capped at 5 s, server waits capped at
// 20 s, a per-host retry budget, a per-host breaker and an adaptive
// throttle). See docs/resilience.md.
const DefaultPreset = "standard"

// resilience collects the resilience options; New starts from the preset
// and applies the individual settings on top, whatever their order.
type resilience struct {
	preset          string
	full            *transport.ResilienceConfig
	total, attempt  *time.Duration
	maxAttempts     *int
	idempotencyKeys bool
	noBreaker       bool
	noThrottle      bool
	checkRetry      retryablehttp.CheckRetry
	backoff         retryablehttp.Backoff
	cooldowns       transport.CooldownStore
	limits          []transport.HostLimit
	shared          fleetStores // WithFleet, WithBreakerStore, WithSharedQuota
}

// WithRetryPolicy plugs go-retryablehttp policies into the retry layer:
// check (retryablehttp.DefaultRetryPolicy, or your own) narrows or widens
// which outcomes are retried, backoff (retryablehttp.LinearJitterBackoff...)
// computes the waits. Either may be nil to keep securecall's; both nil is
// a *ConfigError, since the option would then do nothing. The safety
// rules always hold: only replayable requests are retried once they may have
// reached the server; TLS, certificate and pin failures, egress denials and
// the caller's cancellation never are; waits stay within the deadline and
// the server-wait cap. Default: securecall's classifier and full-jitter
// exponential backoff. A check that returns (true, err) is read as
// go-retryablehttp reads it: when retries then stop, the call fails with
// a *transport.RetryError wrapping err instead of returning the last
// response (see transport.RetryConfig.CheckRetry).
func WithRetryPolicy(check retryablehttp.CheckRetry, backoff retryablehttp.Backoff) Option {
	return optionFunc(func(c *config) {
		if check == nil && backoff == nil {
			c.fail("WithRetryPolicy", "both check and backoff are nil")
			return
		}
		c.res.checkRetry, c.res.backoff = check, backoff
	})
}

// WithCooldownStore shares the per-host cooldowns (Retry-After, RateLimit
// r=0) through store: between clients of one process
// (transport.NewCooldowns), or across replicas (the fleet module). Default:
// a store private to the client (or WithFleet's). A nil store, or an
// interface holding a nil pointer, is a *ConfigError.
func WithCooldownStore(store transport.CooldownStore) Option {
	return requireValue("WithCooldownStore", store, func(c *config, v transport.CooldownStore) {
		if !c.failTypedNil("WithCooldownStore", v) {
			c.res.cooldowns = v
			c.res.shared.cooldownsSet = true
		}
	})
}

// WithRateLimits sets client-side per-host limits (rate, burst,
// concurrency) for the throttle; the first matching pattern wins, the
// Throttle.Hosts of WithResilience's configuration before these. A limit
// after one whose pattern matches every host its own does ("*", or
// "*.example.com" before "api.example.com") would never apply: it is a
// *ConfigError naming WithRateLimits (or WithResilience, for its own
// Throttle.Hosts). Appends. It conflicts with WithoutThrottle. Default: no fixed limit; the throttle
// only adapts to server signals.
func WithRateLimits(limits ...transport.HostLimit) Option {
	return optionFunc(func(c *config) { c.res.limits = append(c.res.limits, limits...) })
}

// WithResilience replaces the whole resilience configuration (start from a
// preset such as transport.StandardPreset() and adjust). The other
// resilience options still apply on top of it, except WithPreset, which
// it conflicts with. A TotalTimeout or AttemptTimeout under a millisecond
// (and not replaced by WithTimeout or WithAttemptTimeout) is a
// *ConfigError naming WithResilience and the field, as those options'
// are. New copies its Throttle.Hosts: changing the caller's
// slice afterwards does not change the client's limits. Its throttle
// limits and quota (Throttle.Hosts, Throttle.Limit, Throttle.Quota) with
// the throttle off (WithoutThrottle, or its own DisableThrottle), and its
// Breaker.Store with the breaker off (WithoutBreaker, DisableBreaker), are
// a *ConfigError naming WithResilience: the layer that would apply them
// is left out.
func WithResilience(cfg transport.ResilienceConfig) Option {
	return optionFunc(func(c *config) { c.res.full = &cfg })
}

// WithPreset selects a named resilience preset: "standard" (the default),
// "interactive", "batch" or "background" (numbers in docs/resilience.md).
func WithPreset(name string) Option {
	return optionFunc(func(c *config) {
		if _, ok := transport.Preset(name); !ok {
			c.fail("WithPreset", "unknown preset %q (standard, interactive, batch, background)", name)
			return
		}
		c.res.preset = name
	})
}

// WithTimeout bounds a whole call: every attempt, every wait, every
// redirect hop (as http.Client.Timeout does) and reading the
// response body (a body read it cuts fails with a
// *transport.BodyTimeoutError, Layer "total"). Zero means no bound beyond the caller's context;
// negative, or positive under a millisecond (10 meant as 10 s, a unit
// left out: every call would time out), is a *ConfigError. Default:
// the preset's (30 s for "standard"). A shorter total also caps the preset's
// server-wait and throttle-wait limits, and, when the preset's attempt
// timeout is not below it (and WithAttemptTimeout is not given), lowers the
// attempt timeout to a third of the total, and does the same to a
// WithResilience configuration; when a preset's (not WithResilience's)
// retry waits could not fit the total, it scales them down until they do
// (500 ms with "standard": waits of up to 300 ms in all instead of 600 ms).
func WithTimeout(total time.Duration) Option {
	return optionFunc(func(c *config) {
		if total < 0 {
			c.fail("WithTimeout", "negative duration %v", total)
			return
		}
		if subMillisecond(total) {
			c.fail("WithTimeout", subMillisecondReason, total)
			return
		}
		c.res.total = &total
	})
}

// WithAttemptTimeout bounds one attempt, until its response body is closed
// (a body read it cuts fails with a *transport.BodyTimeoutError, Layer
// "attempt"). Zero means none; negative, or positive under a millisecond
// (a unit left out), is a *ConfigError. It must be below WithTimeout. Default: the preset's (10 s
// for "standard"). A longer attempt widens the preset's breaker window to
// twice it and its probe timeout to it, as the breaker needs.
func WithAttemptTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("WithAttemptTimeout", "negative duration %v", d)
			return
		}
		if subMillisecond(d) {
			c.fail("WithAttemptTimeout", subMillisecondReason, d)
			return
		}
		c.res.attempt = &d
	})
}

// WithMaxAttempts sets the attempts per call, the first included; 1 turns
// retries off. Only replayable requests (idempotent method or an
// Idempotency-Key) are retried after they may have reached the server.
// Default: the preset's (3 for "standard").
func WithMaxAttempts(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.fail("WithMaxAttempts", "must be at least 1, got %d", n)
			return
		}
		c.res.maxAttempts = &n
	})
}

// WithIdempotencyKeys gives every call with a non-idempotent method and no
// Idempotency-Key of its own a new key, identical on all its attempts, which
// makes POST and PATCH calls retryable against servers that deduplicate by
// key. With WithMaxAttempts(1) the client does not retry, but the key is
// still sent, for a proxy or service mesh that retries the request (the
// server then sees the same key), so the combination is not refused.
// Default: off.
func WithIdempotencyKeys() Option {
	return optionFunc(func(c *config) { c.res.idempotencyKeys = true })
}

// WithoutBreaker leaves the per-host circuit breaker out. It conflicts
// with WithBreakerStore and with a WithResilience Breaker.Store. Default:
// on.
//
// The breaker is per host, not per path, and counts failed attempts
// (retries included) across all the client's calls: under the standard
// preset two calls to an endpoint answering 503 (5 failed attempts in a
// row) open it, and then every call to the host, to a healthy path too,
// fails with ErrCircuitOpen, nothing sent, for the breaker's open timeout
// (10 s). Tune its thresholds with WithResilience
// (Breaker.ConsecutiveFailures, MinRequests, FailureRatio, OpenTimeout),
// or give an endpoint that fails as a matter of course its own client;
// see docs/resilience.md.
func WithoutBreaker() Option {
	return optionFunc(func(c *config) { c.res.noBreaker = true })
}

// WithoutThrottle leaves the per-host throttle out. It conflicts with
// WithRateLimits, WithSharedQuota and a WithResilience configuration's
// Throttle.Hosts, Throttle.Limit or Throttle.Quota, which the throttle
// applies. Default: on (adaptive: it limits nothing until a server
// signals throttling).
func WithoutThrottle() Option {
	return optionFunc(func(c *config) { c.res.noThrottle = true })
}

// subMillisecond reports whether d, a call or attempt timeout, is
// positive and under a millisecond: a unit left out (10 for 10 s), since
// no attempt can make a connection in it, so every call would fail with a
// timeout counted against the host's breaker.
func subMillisecond(d time.Duration) bool { return d > 0 && d < time.Millisecond }

// subMillisecondReason is the ConfigError reason for a subMillisecond
// timeout; its verb is the duration.
const subMillisecondReason = "%v is under a millisecond (a unit left out?): no attempt can connect in it, so every call would time out"

// fitPresetToTotal lowers the settings a preset derived from its own total
// timeout when the caller chose a shorter one with WithTimeout: server waits
// and throttle waits are capped at the new total, and, unless the caller set
// an attempt timeout too, the attempt timeout becomes a third of the total
// (so that retries fit). Settings the caller gave explicitly are kept and
// validated as they are.
func fitPresetToTotal(rc *transport.ResilienceConfig, attemptSet bool) {
	total := rc.TotalTimeout
	if total <= 0 {
		return
	}
	if rc.Retry.MaxRetryAfter > total {
		rc.Retry.MaxRetryAfter = total
	}
	if rc.Throttle.MaxWait > total {
		rc.Throttle.MaxWait = total
	}
	if !attemptSet && rc.AttemptTimeout >= total {
		rc.AttemptTimeout = total / 3
	}
}

// fitPresetRetryToTotal halves a preset's retry delays until its retry
// schedule fits rc.TotalTimeout (as transport's Validate measures it), so
// a short WithTimeout keeps the preset's retries, sooner, instead of
// failing on a schedule the caller never chose.
func fitPresetRetryToTotal(rc *transport.ResilienceConfig) {
	for rc.Retry.BaseDelay > time.Microsecond && scheduleTooLong(*rc) {
		rc.Retry.BaseDelay /= 2
		rc.Retry.MaxDelay = max(rc.Retry.MaxDelay/2, rc.Retry.BaseDelay)
	}
}

// scheduleTooLong reports whether Validate refuses rc's retry schedule as
// longer than its TotalTimeout.
func scheduleTooLong(rc transport.ResilienceConfig) bool {
	var ce *ConfigError
	return errors.As(rc.Validate(), &ce) && ce.Option == "Retry.MaxAttempts"
}

// resilienceConfig builds the resolved resilience configuration.
func (cfg *config) resilienceConfig() (transport.ResilienceConfig, error) {
	r := cfg.res
	var rc transport.ResilienceConfig
	switch {
	case r.full != nil && r.preset != "":
		return rc, &ConfigError{Option: "WithPreset", Reason: "cannot be combined with WithResilience, which replaces the preset: start its configuration from transport.Preset(name)"}
	case r.full != nil:
		rc = *r.full
		// Checked here, where the field is still the caller's: a
		// WithTimeout or WithAttemptTimeout replaces it.
		if subMillisecond(rc.TotalTimeout) && r.total == nil {
			return rc, &ConfigError{Option: "WithResilience", Err: &ConfigError{Option: "TotalTimeout", Reason: fmt.Sprintf(subMillisecondReason, rc.TotalTimeout)}}
		}
		if subMillisecond(rc.AttemptTimeout) && r.attempt == nil {
			return rc, &ConfigError{Option: "WithResilience", Err: &ConfigError{Option: "AttemptTimeout", Reason: fmt.Sprintf(subMillisecondReason, rc.AttemptTimeout)}}
		}
	default:
		name := r.preset
		if name == "" {
			name = DefaultPreset
		}
		rc, _ = transport.Preset(name)
	}
	if r.total != nil {
		rc.TotalTimeout = *r.total
		fitPresetToTotal(&rc, r.attempt != nil)
	}
	if r.attempt != nil {
		rc.AttemptTimeout = *r.attempt
		if r.full == nil {
			// The preset's breaker must give a probe the time of an
			// attempt, and its window hold more than one timed-out
			// attempt (Validate): a longer attempt widens them.
			rc.Breaker.Window = max(rc.Breaker.Window, 2*rc.AttemptTimeout)
			rc.Breaker.ProbeTimeout = max(rc.Breaker.ProbeTimeout, rc.AttemptTimeout)
		}
	}
	if r.total != nil && r.full == nil {
		// Measured with the attempt timeout the call will have: Validate
		// refuses the preset's (above the total) before it looks at the
		// schedule, so no delay would be scaled.
		fitPresetRetryToTotal(&rc)
	}
	if r.maxAttempts != nil {
		rc.Retry.MaxAttempts = *r.maxAttempts
	}
	if r.idempotencyKeys {
		rc.Retry.IdempotencyKeys = true
	}
	if r.checkRetry != nil {
		rc.Retry.CheckRetry = r.checkRetry
	}
	if r.backoff != nil {
		rc.Retry.Backoff = r.backoff
	}
	if r.cooldowns != nil {
		rc.Retry.Cooldowns = r.cooldowns
	}
	// A new slice, also without WithRateLimits: WithResilience's Hosts is
	// the caller's, which New must neither append into (its spare
	// capacity is the caller's memory) nor hand to the throttle, which
	// reads it on every new host.
	rc.Throttle.Hosts = slices.Concat(rc.Throttle.Hosts, r.limits)
	rc.DisableBreaker = rc.DisableBreaker || r.noBreaker
	rc.DisableThrottle = rc.DisableThrottle || r.noThrottle
	if len(r.limits) > 0 && rc.DisableThrottle {
		return rc, &ConfigError{Option: "WithRateLimits", Reason: "conflicts with " + r.throttleOff() + ": the limits are applied by the throttle"}
	}
	if err := r.offLayerSettings(rc); err != nil {
		return rc, err
	}
	if err := r.sharedStores(&rc); err != nil {
		return rc, err
	}
	if cfg.meterProvider != nil {
		rc.Retry.MeterProvider = cfg.meterProvider
		rc.Breaker.MeterProvider = cfg.meterProvider
		rc.Throttle.MeterProvider = cfg.meterProvider
	}
	resolved, err := rc.Resolve()
	if err != nil {
		return rc, &ConfigError{Option: r.optionFor(err), Err: err}
	}
	return resolved, nil
}

// offLayerSettings refuses a WithResilience configuration whose throttle
// limits or quota, or breaker store, a layer turned off would silently
// drop (WithoutThrottle, WithoutBreaker, or its own DisableThrottle,
// DisableBreaker), as WithRateLimits, WithSharedQuota and WithBreakerStore
// are refused with the layer off. rc has its final Disable flags and none
// of the fleet's stores yet (a fleet store of a layer off is not used).
func (r *resilience) offLayerSettings(rc transport.ResilienceConfig) error {
	if r.full == nil {
		return nil
	}
	t, b := r.full.Throttle, r.full.Breaker
	field := ""
	switch {
	case rc.DisableThrottle && len(t.Hosts) > 0:
		field = "Throttle.Hosts"
	case rc.DisableThrottle && t.Limit != (transport.HostLimit{}):
		field = "Throttle.Limit"
	case rc.DisableThrottle && t.Quota != nil:
		field = "Throttle.Quota"
	case rc.DisableBreaker && b.Store != nil:
		return &ConfigError{Option: "WithResilience", Reason: "Breaker.Store conflicts with " + r.breakerOff() + ": a shared breaker state needs the breaker"}
	default:
		return nil
	}
	return &ConfigError{Option: "WithResilience", Reason: field + " conflicts with " + r.throttleOff() + ": it is applied by the throttle"}
}

// optionFor names the option behind a resolved configuration's error: the
// individual option that set the field the error names (or, for a
// conflict between settings, the one the caller gave), and WithResilience
// only when nothing more precise applies.
func (r *resilience) optionFor(err error) string {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return "WithResilience"
	}
	field := ce.Option
	switch {
	case field == "AttemptTimeout" || strings.HasPrefix(field, "Breaker.") && r.attempt != nil:
		// Below TotalTimeout; the breaker's window and probe timeout
		// must fit the attempt timeout.
		if r.attempt != nil {
			return "WithAttemptTimeout"
		}
		if r.total != nil {
			return "WithTimeout"
		}
	case field == "TotalTimeout":
		if r.total != nil {
			return "WithTimeout"
		}
	case field == "Retry.MaxAttempts" || field == "RetryConfig.MaxAttempts":
		switch {
		case r.maxAttempts != nil:
			return "WithMaxAttempts"
		case r.total != nil:
			return "WithTimeout"
		case r.backoff != nil:
			return "WithRetryPolicy"
		}
	case strings.HasPrefix(field, "ThrottleConfig.Hosts["):
		// WithRateLimits appends to the hosts of WithResilience's
		// configuration, if any.
		i, _, _ := strings.Cut(strings.TrimPrefix(field, "ThrottleConfig.Hosts["), "]")
		n, perr := strconv.Atoi(i)
		own := 0
		if r.full != nil {
			own = len(r.full.Throttle.Hosts)
		}
		if perr == nil && n >= own && len(r.limits) > 0 {
			return "WithRateLimits"
		}
	}
	return "WithResilience"
}
