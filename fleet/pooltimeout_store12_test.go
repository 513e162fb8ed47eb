package fleet_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet"
)

// A Fleet has several stores, each with its own Timeout (Cooldown.Timeout,
// Breaker.Timeout, Quota.Timeout, or Options.Timeout for those left zero).
// When the go-redis PoolTimeout is not below one of them, the *ConfigError
// (still for "client") names that store, its Timeout field and both
// values, so a user can tell which Timeout to raise; so do the stores'
// own constructors.
func TestPoolTimeoutErrorNamesTheStore(t *testing.T) {
	c := poolClient(t, "client", time.Second)
	quota := func(timeout time.Duration) *fleet.QuotaOptions {
		return &fleet.QuotaOptions{Timeout: timeout, ExpectedReplicas: 1, Limit: fleet.QuotaLimit{Rate: 10, Burst: 10}}
	}
	for _, tc := range []struct {
		name    string
		opts    fleet.Options
		store   string // in the message
		field   string // the Timeout field to raise
		timeout string // its value
	}{
		{"cooldown", fleet.Options{Timeout: 2 * time.Second, Cooldown: fleet.CooldownOptions{Timeout: 700 * time.Millisecond}}, "cooldown store", "Cooldown.Timeout", "700ms"},
		{"breaker", fleet.Options{Timeout: 2 * time.Second, Breaker: fleet.BreakerOptions{Timeout: 600 * time.Millisecond}}, "breaker store", "Breaker.Timeout", "600ms"},
		{"quota", fleet.Options{Timeout: 2 * time.Second, Quota: quota(800 * time.Millisecond)}, "quota store", "Quota.Timeout", "800ms"},
		{"quota from Options.Timeout", fleet.Options{Timeout: 900 * time.Millisecond, Cooldown: fleet.CooldownOptions{Timeout: 2 * time.Second}, Breaker: fleet.BreakerOptions{Timeout: 2 * time.Second}, Quota: quota(0)}, "quota store", "Quota.Timeout", "900ms"},
	} {
		_, err := fleet.New(c, tc.opts)
		var ce *fleet.ConfigError
		if !errors.As(err, &ce) || ce.Option != "client" {
			t.Fatalf("%s: err %v, want a *ConfigError for the client", tc.name, err)
		}
		for _, want := range []string{tc.store, tc.field, "PoolTimeout (1s)", "Timeout (" + tc.timeout + ")"} {
			if !strings.Contains(ce.Reason, want) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not name %q", tc.name, err, want)
			}
		}
	}

	direct := map[string]error{}
	_, direct["cooldown store"] = fleet.NewCooldownStore(c, fleet.CooldownOptions{Timeout: time.Second})
	_, direct["breaker store"] = fleet.NewBreakerStore(c, fleet.BreakerOptions{Timeout: time.Second})
	_, direct["quota store"] = fleet.NewQuota(c, *quota(time.Second))
	_, direct["nonce store"] = fleet.NewNonceStore(c, fleet.NonceOptions{Timeout: time.Second})
	for store, err := range direct {
		var ce *fleet.ConfigError
		if !errors.As(err, &ce) || ce.Option != "client" || !strings.Contains(ce.Reason, store+"'s Timeout (1s)") || !strings.Contains(ce.Reason, "PoolTimeout (1s)") {
			t.Errorf("%s: err %v, want a *ConfigError for the client naming the %s and both values", store, err, store)
		}
	}
}
