package fleet

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/securecall/securecall/transport"
)

// TestQuotaLeaseSlowerThanLeaseTTL: a Redis that answers the lease script
// within the store's Timeout but later than LeaseTTL (Timeout 1 s, the
// default LeaseTTL of 200 ms, a round trip of 250 ms: a loaded or distant
// Redis) grants tokens that have expired by the time they arrive. Before,
// TakeQuota waited through 16 such leases (4 s), each consuming tokens of
// the fleet's quota in Redis, then answered "wait 10 ms" with nothing
// granted, call after call: the quota sent nothing and starved the other
// replicas, with Redis not marked down, no error counted and neither
// Policy applied. Such a lease now counts as a failed call (Redis too slow
// to be used: context.DeadlineExceeded), so Redis is marked down and the
// Policy applies until a probe lease comes back in time: one lease per
// ProbeInterval, not 16 per call. A lease that comes back within LeaseTTL
// is used as before.
func TestQuotaLeaseSlowerThanLeaseTTL(t *testing.T) {
	for _, policy := range []Policy{FailClosed, FallBackLocal} {
		t.Run(policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newFakeGCRA(100, 100)
				q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: policy,
					Timeout: time.Second, ProbeInterval: time.Hour, ExpectedReplicas: 1})
				delay := 250 * time.Millisecond // > DefaultLeaseTTL, < Timeout
				q.allow = func(ctx context.Context, k string, l redis_rate.Limit, n int) (*redis_rate.Result, error) {
					time.Sleep(delay)
					return g.allow(ctx, k, l, n)
				}
				ctx := context.Background()
				d, err := q.TakeQuota(ctx, "api.example.com")
				switch policy {
				case FailClosed:
					if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, transport.ErrRateLimited) {
						t.Fatalf("TakeQuota on a lease slower than LeaseTTL: %v, %v; want an *Error matching ErrUnavailable, context.DeadlineExceeded and ErrRateLimited", d, err)
					}
				default:
					if d != 0 || err != nil {
						t.Fatalf("TakeQuota on a lease slower than LeaseTTL: %v, %v; want the local share's grant", d, err)
					}
				}
				if n := len(g.calls()); n != 1 {
					t.Fatalf("%d leases for one TakeQuota, each consuming the fleet's quota; want 1", n)
				}
				if s := q.Stats(); !s.Degraded || s.RedisErrors != 1 {
					t.Fatalf("after a lease slower than LeaseTTL: %+v, want Redis marked down and one error counted", s)
				}
				for range 10 {
					q.TakeQuota(ctx, "api.example.com")
				}
				if n := len(g.calls()); n != 1 {
					t.Fatalf("marked down, yet %d more leases", n-1)
				}

				// A lease within LeaseTTL is used as before.
				q2 := fakeQuota(t, newFakeGCRA(100, 100), QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: policy,
					Timeout: time.Second, ExpectedReplicas: 1})
				g2 := newFakeGCRA(100, 100)
				q2.allow = func(ctx context.Context, k string, l redis_rate.Limit, n int) (*redis_rate.Result, error) {
					time.Sleep(150 * time.Millisecond)
					return g2.allow(ctx, k, l, n)
				}
				if d, err := q2.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
					t.Fatalf("TakeQuota on a lease within LeaseTTL: %v, %v", d, err)
				}
				if s := q2.Stats(); s.Degraded || s.RedisErrors != 0 {
					t.Fatalf("after a lease within LeaseTTL: %+v", s)
				}
			})
		})
	}
}
