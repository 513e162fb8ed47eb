package fleet

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
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
		if n := len(g.calls()); n != 1 {
			t.Fatalf("%d leases for 10 calls, want 1", n)
		}
	})
}
