package fleet

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// TestQuotaLongProbeIntervalProbesOnce: while Redis is down, a
// ProbeInterval near the largest Duration lets no call try Redis again
// (its next probe saturates instead of wrapping into the past).
func TestQuotaLongProbeIntervalProbesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1000, 1000)
		g.err = errors.New("redis: connection refused")
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, Policy: FailClosed, ProbeInterval: math.MaxInt64})
		ctx := context.Background()
		for range 100 {
			if _, err := q.TakeQuota(ctx, "api.example.com"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%v, want ErrUnavailable", err)
			}
		}
		if n := len(g.calls()); n != 1 {
			t.Fatalf("%d Redis calls for 100 TakeQuota while down, want 1", n)
		}
	})
}

// TestQuotaLongLeaseTTLGrants: a LeaseTTL near the largest Duration (a
// caller's "leases never expire") still grants from the lease: its expiry
// saturates instead of wrapping into the past.
func TestQuotaLongLeaseTTLGrants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1000, 1000)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, MinBatch: 10, LeaseTTL: math.MaxInt64})
		ctx := context.Background()
		for i := range 10 {
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("call %d: %v, %v", i, d, err)
			}
		}
		// The first lease served all ten; the one leased ahead when a
		// quarter of it was left runs in its own goroutine, which the
		// loop may or may not have let run by now (it did under load):
		// wait for it. An expiry wrapped into the past would lease on
		// every call.
		synctest.Wait()
		if n := len(g.calls()); n != 2 {
			t.Fatalf("%d leases for 10 calls, want 2 (the first and one ahead)", n)
		}
	})
}

// TestQuotaBogusRetryAfterBounded: a lease reply granting nothing with a
// RetryAfter far beyond the quota's Period (not what redis_rate answers:
// a Redis-compatible proxy's) holds this replica's leases back for at most
// the Period, not for ever (nor not at all).
func TestQuotaBogusRetryAfterBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1000, 1000)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}})
		calls := 0
		q.allow = func(ctx context.Context, key string, l redis_rate.Limit, n int) (*redis_rate.Result, error) {
			calls++
			if calls == 1 {
				return &redis_rate.Result{Limit: l, RetryAfter: math.MaxInt64}, nil
			}
			return g.allow(ctx, key, l, n)
		}
		ctx := context.Background()
		d, err := q.TakeQuota(ctx, "api.example.com")
		if err != nil || d <= 0 || d > time.Second {
			t.Fatalf("first call: %v, %v; want a wait of at most the Period", d, err)
		}
		for range 10 {
			q.TakeQuota(ctx, "api.example.com")
		}
		if calls != 1 {
			t.Fatalf("%d lease calls before the wait ended, want 1", calls)
		}
		time.Sleep(time.Second)
		if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
			t.Fatalf("after the Period: %v, %v; want a grant", d, err)
		}
	})
}
