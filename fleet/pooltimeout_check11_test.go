package fleet_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/fleet"
)

// poolClient returns a go-redis client of kind ("client", "cluster",
// "ring") with ContextTimeoutEnabled and the given PoolTimeout (0:
// go-redis's default). Nothing is dialed: the constructors only read the
// options.
func poolClient(t *testing.T, kind string, pool time.Duration) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	switch kind {
	case "client":
		c = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, PoolTimeout: pool})
	case "cluster":
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true, PoolTimeout: pool})
	case "ring":
		c = redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}, ContextTimeoutEnabled: true, PoolTimeout: pool})
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// constructors builds each store (and a Fleet) on c with timeout as the
// store's Timeout.
func constructors(c redis.UniversalClient, timeout time.Duration) map[string]error {
	errs := map[string]error{}
	_, errs["NewCooldownStore"] = fleet.NewCooldownStore(c, fleet.CooldownOptions{Timeout: timeout})
	_, errs["NewBreakerStore"] = fleet.NewBreakerStore(c, fleet.BreakerOptions{Timeout: timeout})
	_, errs["New"] = fleet.New(c, fleet.Options{Timeout: timeout})
	if _, ring := c.(*redis.Ring); !ring { // refused for another reason
		_, errs["NewNonceStore"] = fleet.NewNonceStore(c, fleet.NonceOptions{Timeout: timeout})
		_, errs["NewQuota"] = fleet.NewQuota(c, fleet.QuotaOptions{Timeout: timeout, ExpectedReplicas: 1, Limit: fleet.QuotaLimit{Rate: 10, Burst: 10}})
	}
	return errs
}

// A go-redis PoolTimeout at or above the store's Timeout makes a burst
// that finds every pooled connection busy end at the store's Timeout, as
// a bare deadline that counts as a Redis outage (Redis marked down, the
// degraded policy applied) instead of ErrPoolExhausted. The constructors
// refuse it with a *ConfigError naming the client and PoolTimeout.
func TestConstructorsRefusePoolTimeoutNotBelowTimeout(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		pool    time.Duration
		timeout time.Duration // 0: DefaultTimeout
	}{
		{"client", 0, 0},                    // go-redis's default: ReadTimeout + 1 s
		{"client", 0, 2 * time.Second},      // still above
		{"client", fleet.DefaultTimeout, 0}, // equal
		{"client", time.Second, 500 * time.Millisecond},
		{"cluster", 0, 0}, // each node's default is at least 1 s
		{"cluster", 3 * time.Second, 2 * time.Second},
		{"ring", 0, 0},
		{"ring", time.Second, time.Second},
	} {
		c := poolClient(t, tc.kind, tc.pool)
		for name, err := range constructors(c, tc.timeout) {
			var ce *fleet.ConfigError
			if !errors.As(err, &ce) || ce.Option != "client" || !strings.Contains(ce.Reason, "PoolTimeout") {
				t.Errorf("%s, PoolTimeout %v, Timeout %v: %s: err %v, want a *ConfigError for the client's PoolTimeout", tc.kind, tc.pool, tc.timeout, name, err)
			}
		}
	}
}

// A PoolTimeout below the store's Timeout is accepted, as is a negative
// one (no wait at all), and so is a ClusterClient's or Ring's default
// PoolTimeout with a store Timeout above a second: each node defaults it
// from its own ReadTimeout, which cannot be read reliably from the
// cluster's options, so it is not checked.
func TestConstructorsAcceptPoolTimeoutBelowTimeout(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		pool    time.Duration
		timeout time.Duration
	}{
		{"client", 50 * time.Millisecond, 0},
		{"client", -1, 0},
		{"client", 0, time.Minute},
		{"cluster", 50 * time.Millisecond, 0},
		{"cluster", 0, 10 * time.Second},
		{"ring", 99 * time.Millisecond, 0},
		{"ring", 0, 10 * time.Second},
	} {
		c := poolClient(t, tc.kind, tc.pool)
		for name, err := range constructors(c, tc.timeout) {
			if err != nil {
				t.Errorf("%s, PoolTimeout %v, Timeout %v: %s: %v", tc.kind, tc.pool, tc.timeout, name, err)
			}
		}
	}
}
