package transport_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func TestPresetsValid(t *testing.T) {
	for _, name := range []string{transport.PresetStandard, transport.PresetInteractive, transport.PresetBatch, transport.PresetBackground} {
		p, ok := transport.Preset(name)
		if !ok {
			t.Fatalf("preset %q missing", name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := transport.NewResilience(nil, p); err != nil {
			t.Errorf("%s: NewResilience: %v", name, err)
		}
	}
	if _, ok := transport.Preset("yolo"); ok {
		t.Error("unknown preset found")
	}
}

func TestResilienceValidate(t *testing.T) {
	std := transport.StandardPreset
	tests := []struct {
		name   string
		mod    func(*transport.ResilienceConfig)
		option string
	}{
		{"attempt = total", func(c *transport.ResilienceConfig) { c.AttemptTimeout = c.TotalTimeout }, "AttemptTimeout"},
		{"attempt > total", func(c *transport.ResilienceConfig) { c.AttemptTimeout = time.Minute }, "AttemptTimeout"},
		{"negative total", func(c *transport.ResilienceConfig) { c.TotalTimeout = -1 }, "TotalTimeout"},
		{"negative attempt", func(c *transport.ResilienceConfig) { c.AttemptTimeout = -1 }, "AttemptTimeout"},
		{"schedule", func(c *transport.ResilienceConfig) { c.Retry.MaxAttempts = 10; c.Retry.MaxDelay = 10 * time.Second }, "Retry.MaxAttempts"},
		{"custom backoff schedule", func(c *transport.ResilienceConfig) {
			c.Retry.Backoff = retryablehttp.LinearJitterBackoff
			c.Retry.MaxAttempts = 5
			c.Retry.BaseDelay = 10 * time.Second
			c.Retry.MaxDelay = 10 * time.Second
		}, "Retry.MaxAttempts"},
		{"retry-after cap", func(c *transport.ResilienceConfig) { c.Retry.MaxRetryAfter = time.Minute }, "Retry.MaxRetryAfter"},
		{"throttle wait", func(c *transport.ResilienceConfig) { c.Throttle.MaxWait = time.Minute }, "Throttle.MaxWait"},
		{"breaker window", func(c *transport.ResilienceConfig) { c.Breaker.Window = 15 * time.Second }, "Breaker.Window"},
		{"probe timeout", func(c *transport.ResilienceConfig) { c.Breaker.ProbeTimeout = time.Second }, "Breaker.ProbeTimeout"},
		{"layer error", func(c *transport.ResilienceConfig) { c.Breaker.FailureRatio = 2 }, "BreakerConfig.FailureRatio"},
		{"retry error", func(c *transport.ResilienceConfig) { c.Retry.MaxAttempts = -3 }, "RetryConfig.MaxAttempts"},
	}
	for _, tc := range tests {
		c := std()
		tc.mod(&c)
		err := c.Validate()
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%s: err %v, want a ConfigError for %s", tc.name, err, tc.option)
		}
		if _, err := transport.NewResilience(nil, c); err == nil {
			t.Errorf("%s: NewResilience accepted it", tc.name)
		}
	}
	// The breaker window's message gives the attempt timeout as set, and
	// the least window that fits it.
	c := std()
	c.Breaker.Window = 15 * time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "at least 20s (twice AttemptTimeout 10s)") {
		t.Errorf("breaker window message: %v", err)
	}
	// The checks that involve a disabled layer are skipped with it.
	c = std()
	c.Breaker.Window = time.Second
	c.DisableBreaker = true
	c.Throttle.MaxWait = time.Hour
	c.DisableThrottle = true
	if err := c.Validate(); err != nil {
		t.Errorf("disabled layers still checked: %v", err)
	}
	// No timeouts: nothing to fit.
	if err := (transport.ResilienceConfig{Retry: transport.RetryConfig{MaxAttempts: 50}}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	// A zero ProbeTimeout follows the attempt timeout.
	c = std()
	c.AttemptTimeout = 20 * time.Second
	c.Breaker.Window = time.Minute
	c.Breaker.ProbeTimeout = 0
	if err := c.Validate(); err != nil {
		t.Errorf("derived probe timeout: %v", err)
	}
}

func TestResilienceConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		rt, err := transport.NewResilience(next, transport.StandardPreset())
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}, transporttest.ConformanceOptions{Synctest: true})
}

// The assembled layers in an outage: retries are bounded by the budget,
// the breaker opens and then nothing is sent; one probe closes it when
// the upstream recovers.
func TestResilienceOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(503, "down")}
		rt, err := transport.NewResilience(next, transport.StandardPreset())
		if err != nil {
			t.Fatal(err)
		}
		var open, sent int
		for range 100 {
			_, err := resSend(t, t.Context(), rt, resURL)
			if errors.Is(err, transport.ErrCircuitOpen) {
				open++
			}
			sent++
			time.Sleep(20 * time.Millisecond)
		}
		if open == 0 {
			t.Fatal("breaker never opened")
		}
		upstream := next.count()
		if upstream > 10 {
			t.Errorf("%d attempts reached the upstream for %d calls", upstream, sent)
		}
		// While open, nothing is sent.
		for range 20 {
			if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatalf("err %v", err)
			}
		}
		if next.count() != upstream {
			t.Errorf("sends while open: %d", next.count()-upstream)
		}
		next.set(transporttest.Respond(200, "up"))
		time.Sleep(transport.StandardPreset().Breaker.OpenTimeout + time.Millisecond)
		if code, err := resSend(t, t.Context(), rt, resURL); err != nil || code != 200 {
			t.Fatalf("probe: %d %v", code, err)
		}
		if next.count() != upstream+1 {
			t.Errorf("%d sends for one probe", next.count()-upstream)
		}
		for range 10 {
			if code, err := resSend(t, t.Context(), rt, resURL); err != nil || code != 200 {
				t.Fatalf("after recovery: %d %v", code, err)
			}
		}
	})
}

func TestCooldownsEvictOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := transport.NewCooldowns(4)
		hosts := []string{"a", "b", "c", "d", "e"}
		for _, h := range hosts {
			c.SetCooldown(h, time.Now().Add(time.Hour))
			time.Sleep(2 * time.Second)
		}
		if !c.CooldownUntil("a").IsZero() {
			t.Error("oldest host not forgotten")
		}
		for _, h := range hosts[1:] {
			if c.CooldownUntil(h).IsZero() {
				t.Errorf("host %s forgotten", h)
			}
		}
		// A cooldown only moves later.
		until := c.CooldownUntil("e")
		c.SetCooldown("e", until.Add(-time.Minute))
		if !c.CooldownUntil("e").Equal(until) {
			t.Error("cooldown moved earlier")
		}
	})
}

// Zero settings that must fit the timeouts get defaults that fit.
func TestResilienceDerivedDefaults(t *testing.T) {
	c := transport.ResilienceConfig{TotalTimeout: 2 * time.Second, AttemptTimeout: 40 * time.Second / 100}
	if err := c.Validate(); err != nil {
		t.Errorf("short total: %v", err)
	}
	c = transport.ResilienceConfig{TotalTimeout: 5 * time.Minute, AttemptTimeout: time.Minute}
	if err := c.Validate(); err != nil {
		t.Errorf("long attempt: %v", err)
	}
}

// Resolve makes the derived settings explicit; resolving again (as
// NewRetry does with the resolved Retry) changes nothing, "none" (negative)
// settings included.
func TestResilienceResolveIdempotent(t *testing.T) {
	c := transport.StandardPreset()
	c.Retry.ServerWaitJitter = -1
	c.Retry.MinAttemptTime = -1
	c.Retry.MaxDrain = -1
	c.Retry.Budget.MinRetries = -1
	c.Throttle.MinAttemptTime = -1
	r1, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := r1.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r2.Retry.ServerWaitJitter >= 0 || r2.Retry.MinAttemptTime >= 0 || r2.Retry.MaxDrain >= 0 || r2.Retry.Budget.MinRetries >= 0 || r2.Throttle.MinAttemptTime >= 0 {
		t.Errorf("a second resolve turned \"none\" into a default: %+v / %+v", r2.Retry, r2.Throttle)
	}
	if r1.Retry.MaxRetryAfter != 20*time.Second || r2.Breaker.ProbeTimeout != 10*time.Second {
		t.Errorf("derived settings: %v %v", r1.Retry.MaxRetryAfter, r2.Breaker.ProbeTimeout)
	}
	// Built from the resolved config, the retry layer waits exactly what
	// the server asked (no jitter).
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(429, "", "Retry-After", "2"), transporttest.Respond(200, ""))}
		rc := r2.Retry
		rc.Budget.Disabled = true // no floor: a lone call could not retry
		rt, err := transport.NewRetry(tm, rc)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if at := tm.arrivals(); at[1].Sub(at[0]) != 2*time.Second {
			t.Errorf("waited %v, want exactly 2s", at[1].Sub(at[0]))
		}
	})
}
