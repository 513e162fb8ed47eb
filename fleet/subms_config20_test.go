package fleet

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestSubMillisecondTimeoutRefused: a store's Timeout or ProbeInterval
// under a millisecond (1 µs: a unit left out, Timeout: 100 meant as
// milliseconds) was accepted by a client whose PoolTimeout passed the
// check (negative: never wait), though no Redis round trip fits in it:
// every call timed out and marked Redis down, so the nonce store refused
// every signed request (503) and the cooldown, breaker and quota stores
// fell back to local state silently, for good; a sub-millisecond
// ProbeInterval let every call during an outage wait out the Timeout.
// With go-redis's default PoolTimeout the same Timeout was refused as the
// client's fault, telling the caller to set PoolTimeout to "e.g. 0s"
// (go-redis's default again). Each constructor, and New for its own and
// each store's fields, now refuses them with a *ConfigError naming the
// field; a millisecond is accepted.
func TestSubMillisecondTimeoutRefused(t *testing.T) {
	srv := redistest.Start(t)
	noWait := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, PoolTimeout: -1})
	t.Cleanup(func() { _ = noWait.Close() })
	dflt := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = dflt.Close() })

	const sub = time.Microsecond
	type ctor func(c redis.UniversalClient, timeout, probe time.Duration) error
	ctors := map[string]struct {
		f      ctor
		prefix string // the field's prefix in the error
	}{
		"NewNonceStore": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := NewNonceStore(c, NonceOptions{Timeout: to, ProbeInterval: pi})
			return err
		}, ""},
		"NewCooldownStore": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := NewCooldownStore(c, CooldownOptions{Timeout: to, ProbeInterval: pi})
			return err
		}, ""},
		"NewBreakerStore": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := NewBreakerStore(c, BreakerOptions{Timeout: to, ProbeInterval: pi})
			return err
		}, ""},
		"NewQuota": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := NewQuota(c, QuotaOptions{Timeout: to, ProbeInterval: pi, Policy: FailClosed})
			return err
		}, ""},
		"New": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := New(c, Options{Timeout: to, ProbeInterval: pi})
			return err
		}, ""},
		"New.Cooldown": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := New(c, Options{Cooldown: CooldownOptions{Timeout: to, ProbeInterval: pi}})
			return err
		}, "Cooldown."},
		"New.Breaker": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := New(c, Options{Breaker: BreakerOptions{Timeout: to, ProbeInterval: pi}})
			return err
		}, "Breaker."},
		"New.Quota": {func(c redis.UniversalClient, to, pi time.Duration) error {
			_, err := New(c, Options{Quota: &QuotaOptions{Timeout: to, ProbeInterval: pi, Policy: FailClosed}})
			return err
		}, "Quota."},
	}
	for name, tc := range ctors {
		for _, cl := range []struct {
			name string
			c    redis.UniversalClient
		}{{"PoolTimeout -1", noWait}, {"default PoolTimeout", dflt}} {
			for _, bad := range []struct {
				field     string
				timeout   time.Duration
				probeEvry time.Duration
			}{{"Timeout", sub, 0}, {"Timeout", time.Millisecond - 1, 0}, {"ProbeInterval", 0, sub}} {
				if bad.field == "ProbeInterval" && cl.c == dflt {
					continue // the default Timeout is refused for this client anyway
				}
				err := tc.f(cl.c, bad.timeout, bad.probeEvry)
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Option != tc.prefix+bad.field {
					t.Errorf("%s, %s, %s %v: %v; want a *ConfigError for %s", name, cl.name, bad.field, max(bad.timeout, bad.probeEvry), err, tc.prefix+bad.field)
				}
			}
		}
		if err := tc.f(noWait, time.Millisecond, time.Millisecond); err != nil {
			t.Errorf("%s: a millisecond refused: %v", name, err)
		}
	}
}
