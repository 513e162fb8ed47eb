package tokens

import (
	"errors"
	"testing"
	"time"
)

// A refresh timeout, backoff step or store read timeout under a
// millisecond was accepted: a refresh (a token request over TLS) or a
// store read (a keyring call over D-Bus) cannot finish in it, so every
// refresh failed with a timeout, and a sub-millisecond backoff let a
// failing source be asked again at once, a storm on the token endpoint.
// NewCache and NewCachedStore refuse them with a *ConfigError naming the
// option; a millisecond is accepted.
func TestDurationOptionsUnderAMillisecondRefused(t *testing.T) {
	src := &fakeSource{ttl: time.Hour}
	for name, tc := range map[string]struct {
		opt  CacheOption
		want string
	}{
		"refresh timeout 1ns":   {WithRefreshTimeout(time.Nanosecond), "WithRefreshTimeout"},
		"refresh timeout 999µs": {WithRefreshTimeout(time.Millisecond - 1), "WithRefreshTimeout"},
		"backoff min 1ns":       {WithBackoff(time.Nanosecond, time.Minute), "WithBackoff"},
		"backoff 1µs":           {WithBackoff(time.Microsecond, time.Microsecond), "WithBackoff"},
	} {
		_, err := NewCache(src, tc.opt)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.want {
			t.Errorf("%s: NewCache = %v, want a *ConfigError naming %s", name, err, tc.want)
		}
	}
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond - 1} {
		_, err := NewCachedStore(NewMemoryStore(), WithReadTimeout(d))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithReadTimeout" {
			t.Errorf("WithReadTimeout(%v): NewCachedStore = %v, want a *ConfigError naming WithReadTimeout", d, err)
		}
	}
	if _, err := NewCache(src, WithRefreshTimeout(time.Millisecond), WithBackoff(time.Millisecond, time.Millisecond)); err != nil {
		t.Errorf("a millisecond: %v", err)
	}
	if _, err := NewCachedStore(NewMemoryStore(), WithReadTimeout(time.Millisecond)); err != nil {
		t.Errorf("WithReadTimeout(1ms): %v", err)
	}
}
