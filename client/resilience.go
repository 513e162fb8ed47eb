package client

import (
	"net/http"
	"time"

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
}

// WithResilience replaces the whole resilience configuration (start from a
// preset such as transport.StandardPreset() and adjust). The other
// resilience options still apply on top of it.
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

// WithTimeout bounds a whole call: every attempt, every wait and reading the
// response body. Zero means no bound beyond the caller's context. Default:
// the preset's (30 s for "standard").
func WithTimeout(total time.Duration) Option {
	return optionFunc(func(c *config) {
		if total < 0 {
			c.fail("WithTimeout", "negative duration %v", total)
			return
		}
		c.res.total = &total
	})
}

// WithAttemptTimeout bounds one attempt, until its response body is closed.
// Zero means none. It must be below WithTimeout. Default: the preset's (10 s
// for "standard").
func WithAttemptTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("WithAttemptTimeout", "negative duration %v", d)
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
// key. Default: off.
func WithIdempotencyKeys() Option {
	return optionFunc(func(c *config) { c.res.idempotencyKeys = true })
}

// WithoutBreaker leaves the per-host circuit breaker out. Default: on.
func WithoutBreaker() Option {
	return optionFunc(func(c *config) { c.res.noBreaker = true })
}

// WithoutThrottle leaves the per-host throttle out. Default: on (adaptive:
// it limits nothing until a server signals throttling).
func WithoutThrottle() Option {
	return optionFunc(func(c *config) { c.res.noThrottle = true })
}

// resilienceConfig builds the resolved resilience configuration.
func (cfg *config) resilienceConfig() (transport.ResilienceConfig, error) {
	r := cfg.res
	var rc transport.ResilienceConfig
	switch {
	case r.full != nil:
		rc = *r.full
	default:
		name := r.preset
		if name == "" {
			name = DefaultPreset
		}
		rc, _ = transport.Preset(name)
	}
	if r.total != nil {
		rc.TotalTimeout = *r.total
	}
	if r.attempt != nil {
		rc.AttemptTimeout = *r.attempt
	}
	if r.maxAttempts != nil {
		rc.Retry.MaxAttempts = *r.maxAttempts
	}
	if r.idempotencyKeys {
		rc.Retry.IdempotencyKeys = true
	}
	rc.DisableBreaker = rc.DisableBreaker || r.noBreaker
	rc.DisableThrottle = rc.DisableThrottle || r.noThrottle
	if cfg.meterProvider != nil {
		rc.Retry.MeterProvider = cfg.meterProvider
		rc.Breaker.MeterProvider = cfg.meterProvider
		rc.Throttle.MeterProvider = cfg.meterProvider
	}
	resolved, err := rc.Resolve()
	if err != nil {
		return rc, &ConfigError{Option: "WithResilience", Err: err}
	}
	return resolved, nil
}

// wrapResilience adds layers 3–7 around next (the per-attempt credential,
// signing and trace layers), innermost first: attempt timeout, throttle,
// breaker, retry (which makes the one clone per attempt), total deadline.
func wrapResilience(rc transport.ResilienceConfig, next http.RoundTripper) (http.RoundTripper, error) {
	rt := next
	var err error
	if rc.AttemptTimeout > 0 { // 7
		if rt, err = transport.NewAttemptTimeout(rt, rc.AttemptTimeout); err != nil {
			return nil, &ConfigError{Option: "WithAttemptTimeout", Err: err}
		}
	}
	if !rc.DisableThrottle { // 6
		if rt, err = transport.NewThrottle(rt, rc.Throttle); err != nil {
			return nil, &ConfigError{Option: "WithResilience", Err: err}
		}
	}
	if !rc.DisableBreaker { // 5
		if rt, err = transport.NewBreaker(rt, rc.Breaker); err != nil {
			return nil, &ConfigError{Option: "WithResilience", Err: err}
		}
	}
	if rt, err = transport.NewRetry(rt, rc.Retry); err != nil { // 4
		return nil, &ConfigError{Option: "WithResilience", Err: err}
	}
	if rc.TotalTimeout > 0 { // 3
		if rt, err = transport.NewTotalTimeout(rt, rc.TotalTimeout); err != nil {
			return nil, &ConfigError{Option: "WithTimeout", Err: err}
		}
	}
	return rt, nil
}
