package transport

import (
	"net/http"
	"time"
)

// ResilienceConfig gathers the settings of the resilience layers, in the
// order they are stacked (outermost first): the total deadline, the retry
// layer, and per attempt the circuit breaker, the throttle and the attempt
// timeout. NewResilience builds that part of a stack from it; Validate
// checks that the layers fit together. Start from a preset
// (StandardPreset, InteractivePreset, BatchPreset, BackgroundPreset) and
// adjust.
//
// A zero setting that must fit a timeout gets a default that fits it:
// Retry.MaxRetryAfter and Throttle.MaxWait are capped at TotalTimeout,
// Breaker.ProbeTimeout is AttemptTimeout, Breaker.Window at least twice
// AttemptTimeout. Settings given explicitly are checked, not adjusted.
type ResilienceConfig struct {
	// TotalTimeout bounds a whole call (every attempt and wait, and
	// reading the body). Zero: none (the caller's context only).
	TotalTimeout time.Duration
	// AttemptTimeout bounds one attempt. Zero: none.
	AttemptTimeout time.Duration
	// Retry configures the retry layer. Retry.MaxAttempts 1 turns retries
	// off (the layer still makes the per-attempt clone).
	Retry RetryConfig
	// Breaker configures the circuit breaker; DisableBreaker leaves it out.
	Breaker        BreakerConfig
	DisableBreaker bool
	// Throttle configures the throttle; DisableThrottle leaves it out.
	Throttle        ThrottleConfig
	DisableThrottle bool
}

// Preset names (Preset).
const (
	PresetStandard    = "standard"
	PresetInteractive = "interactive"
	PresetBatch       = "batch"
	PresetBackground  = "background"
)

// StandardPreset is the general-purpose setting, the one a client uses
// unless told otherwise: total 30 s, attempt 10 s, 3 attempts with
// full-jitter backoff from 200 ms capped at 5 s, server waits capped at
// 20 s, breaker over 30 s (open 10 s, probe 10 s), throttle waits up to 5 s.
func StandardPreset() ResilienceConfig {
	return ResilienceConfig{
		TotalTimeout:   30 * time.Second,
		AttemptTimeout: 10 * time.Second,
		Retry: RetryConfig{
			MaxAttempts:   3,
			BaseDelay:     200 * time.Millisecond,
			MaxDelay:      5 * time.Second,
			MaxRetryAfter: 20 * time.Second,
		},
		Breaker: BreakerConfig{
			Window:       30 * time.Second,
			OpenTimeout:  10 * time.Second,
			ProbeTimeout: 10 * time.Second,
		},
		Throttle: ThrottleConfig{MaxWait: 5 * time.Second},
	}
}

// InteractivePreset is for calls a user is waiting on: total 10 s, attempt
// 3 s, 3 attempts with backoff from 100 ms capped at 1 s, server waits
// capped at 5 s, breaker over 10 s (open 5 s, probe 3 s), throttle waits up
// to 1 s. Fails fast rather than keeping a user waiting.
func InteractivePreset() ResilienceConfig {
	return ResilienceConfig{
		TotalTimeout:   10 * time.Second,
		AttemptTimeout: 3 * time.Second,
		Retry: RetryConfig{
			MaxAttempts:   3,
			BaseDelay:     100 * time.Millisecond,
			MaxDelay:      time.Second,
			MaxRetryAfter: 5 * time.Second,
		},
		Breaker: BreakerConfig{
			Window:       10 * time.Second,
			OpenTimeout:  5 * time.Second,
			ProbeTimeout: 3 * time.Second,
		},
		Throttle: ThrottleConfig{MaxWait: time.Second},
	}
}

// BatchPreset is for jobs that can wait for a result: total 2 min,
// attempt 30 s, 5 attempts with backoff from 500 ms capped at 10 s, server
// waits capped at 60 s, breaker over 60 s (open 15 s, probe 30 s), throttle
// waits up to 30 s.
func BatchPreset() ResilienceConfig {
	return ResilienceConfig{
		TotalTimeout:   2 * time.Minute,
		AttemptTimeout: 30 * time.Second,
		Retry: RetryConfig{
			MaxAttempts:   5,
			BaseDelay:     500 * time.Millisecond,
			MaxDelay:      10 * time.Second,
			MaxRetryAfter: time.Minute,
		},
		Breaker: BreakerConfig{
			Window:       time.Minute,
			OpenTimeout:  15 * time.Second,
			ProbeTimeout: 30 * time.Second,
		},
		Throttle: ThrottleConfig{MaxWait: 30 * time.Second},
	}
}

// BackgroundPreset is for work nobody waits on (syncs, webhooks
// delivery): total 10 min, attempt 60 s, 8 attempts with backoff from 1 s
// capped at 60 s, server waits capped at 5 min, breaker over 2 min (open
// 30 s, probe 60 s), throttle waits up to 2 min.
func BackgroundPreset() ResilienceConfig {
	return ResilienceConfig{
		TotalTimeout:   10 * time.Minute,
		AttemptTimeout: time.Minute,
		Retry: RetryConfig{
			MaxAttempts:   8,
			BaseDelay:     time.Second,
			MaxDelay:      time.Minute,
			MaxRetryAfter: 5 * time.Minute,
		},
		Breaker: BreakerConfig{
			Window:       2 * time.Minute,
			OpenTimeout:  30 * time.Second,
			ProbeTimeout: time.Minute,
		},
		Throttle: ThrottleConfig{MaxWait: 2 * time.Minute},
	}
}

// Preset returns the preset called name (PresetStandard,
// PresetInteractive, PresetBatch, PresetBackground).
func Preset(name string) (ResilienceConfig, bool) {
	switch name {
	case PresetStandard:
		return StandardPreset(), true
	case PresetInteractive:
		return InteractivePreset(), true
	case PresetBatch:
		return BatchPreset(), true
	case PresetBackground:
		return BackgroundPreset(), true
	}
	return ResilienceConfig{}, false
}

// Validate checks every layer's settings and that they fit together,
// returning a *ConfigError naming the first offending field:
//
//   - TotalTimeout and AttemptTimeout not negative;
//   - AttemptTimeout below TotalTimeout (an attempt could never be
//     retried otherwise);
//   - the retry schedule fits TotalTimeout: the largest waits the default
//     backoff can draw (min(MaxDelay, BaseDelay x 2^i) for each retry i),
//     or MaxAttempts-1 times BaseDelay for a custom Backoff;
//   - Retry.MaxRetryAfter and Throttle.MaxWait at most TotalTimeout (a
//     wait that long could never be honoured);
//   - Breaker.Window at least twice AttemptTimeout (the window must hold
//     more than one timed-out attempt);
//   - Breaker.ProbeTimeout at least AttemptTimeout (a probe must be given
//     the time of an attempt).
func (c ResilienceConfig) Validate() error {
	_, err := c.resolve()
	return err
}

// Resolve validates c like Validate and returns it with the settings that
// depend on the timeouts made explicit (a server-wait cap and a throttle
// wait that fit TotalTimeout, a breaker probe timeout and window that fit
// AttemptTimeout), so a caller that stacks the layers itself
// (client/stack.go) builds exactly what NewResilience would.
func (c ResilienceConfig) Resolve() (ResilienceConfig, error) { return c.resolve() }

func (c ResilienceConfig) resolve() (ResilienceConfig, error) {
	if c.TotalTimeout < 0 {
		return c, configErrorf("TotalTimeout", nil, "must not be negative, got %v", c.TotalTimeout)
	}
	if c.AttemptTimeout < 0 {
		return c, configErrorf("AttemptTimeout", nil, "must not be negative, got %v", c.AttemptTimeout)
	}
	// Zero settings that must fit the timeouts default to values that do.
	if c.TotalTimeout > 0 {
		if c.Retry.MaxRetryAfter == 0 {
			c.Retry.MaxRetryAfter = min(DefaultMaxRetryAfter, c.TotalTimeout)
		}
		if c.Throttle.MaxWait == 0 {
			c.Throttle.MaxWait = min(DefaultThrottleMaxWait, c.TotalTimeout)
		}
	}
	if c.AttemptTimeout > 0 {
		if c.Breaker.ProbeTimeout == 0 {
			c.Breaker.ProbeTimeout = c.AttemptTimeout
		}
		if c.Breaker.Window == 0 {
			c.Breaker.Window = max(DefaultBreakerWindow, 2*c.AttemptTimeout)
		}
	}
	customBackoff := c.Retry.Backoff != nil
	r, err := c.Retry.resolve()
	if err != nil {
		return c, err
	}
	c.Retry = r
	if !c.DisableBreaker {
		b, err := c.Breaker.resolve()
		if err != nil {
			return c, err
		}
		c.Breaker = b
	}
	if !c.DisableThrottle {
		t, err := c.Throttle.resolve()
		if err != nil {
			return c, err
		}
		c.Throttle = t
	}
	total, attempt := c.TotalTimeout, c.AttemptTimeout
	if total > 0 {
		if attempt >= total {
			return c, configErrorf("AttemptTimeout", nil, "%v must be below TotalTimeout %v, or no attempt could be retried", attempt, total)
		}
		if s := c.Retry.schedule(customBackoff); s > total {
			return c, configErrorf("Retry.MaxAttempts", nil, "the retry schedule (%d attempts, waits of up to %v in all) cannot fit TotalTimeout %v", c.Retry.MaxAttempts, s, total)
		}
		if c.Retry.MaxRetryAfter > total {
			return c, configErrorf("Retry.MaxRetryAfter", nil, "%v exceeds TotalTimeout %v: such a wait could never be honoured", c.Retry.MaxRetryAfter, total)
		}
		if !c.DisableThrottle && c.Throttle.MaxWait > total {
			return c, configErrorf("Throttle.MaxWait", nil, "%v exceeds TotalTimeout %v", c.Throttle.MaxWait, total)
		}
	}
	if attempt > 0 && !c.DisableBreaker {
		if c.Breaker.Window < 2*attempt {
			return c, configErrorf("Breaker.Window", nil, "%v must be at least %v (twice AttemptTimeout %v)", c.Breaker.Window, 2*attempt, attempt)
		}
		if c.Breaker.ProbeTimeout < attempt {
			return c, configErrorf("Breaker.ProbeTimeout", nil, "%v must be at least AttemptTimeout %v", c.Breaker.ProbeTimeout, attempt)
		}
	}
	return c, nil
}

// schedule returns the largest total wait of a resolved RetryConfig's
// retries: the default backoff's ceilings, or BaseDelay per retry for a
// custom Backoff (whose bound is unknown).
func (c RetryConfig) schedule(custom bool) time.Duration {
	var sum time.Duration
	for i := 0; i < c.MaxAttempts-1; i++ {
		d := c.BaseDelay
		if !custom {
			d = c.MaxDelay
			if i < 62 {
				if v := c.BaseDelay << uint(i); v > 0 && v>>uint(i) == c.BaseDelay && v < c.MaxDelay {
					d = v
				}
			}
		}
		if sum += d; sum < 0 {
			return time.Duration(1<<63 - 1)
		}
	}
	return sum
}

// NewResilience builds the resilience part of a stack over next, after
// Validate: total timeout → retry → breaker → throttle → attempt timeout →
// next (layers whose setting is zero or disabled are left out; the retry
// layer is always there, as it makes the per-attempt request). Put the
// per-attempt layers that must be fresh on every send (auth, signing, the
// attempt span) in next.
func NewResilience(next http.RoundTripper, cfg ResilienceConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	rt := orDefault(next)
	if c.AttemptTimeout > 0 {
		if rt, err = NewAttemptTimeout(rt, c.AttemptTimeout); err != nil {
			return nil, err
		}
	}
	if !c.DisableThrottle {
		if rt, err = NewThrottle(rt, c.Throttle); err != nil {
			return nil, err
		}
	}
	if !c.DisableBreaker {
		if rt, err = NewBreaker(rt, c.Breaker); err != nil {
			return nil, err
		}
	}
	if rt, err = NewRetry(rt, c.Retry); err != nil {
		return nil, err
	}
	if c.TotalTimeout > 0 {
		if rt, err = NewTotalTimeout(rt, c.TotalTimeout); err != nil {
			return nil, err
		}
	}
	return rt, nil
}
