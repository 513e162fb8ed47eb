package fleet

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// The stores count the calls that may have waited for Redis
// (transport.WaitCounter), so that a stack sharing one clock reading per
// attempt reads the clock again after those only: the cooldown store's
// first read of a host and its write of a new cooldown, the quota's slow
// path; never the breaker store's reads, which run in the background.
func TestStoresCountWaits(t *testing.T) {
	srv := redistest.Start(t)

	t.Run("cooldown", func(t *testing.T) {
		s := newCooldowns(t, srv, CooldownOptions{RefreshInterval: time.Hour})
		var w transport.WaitCounter = s
		s.CooldownUntil("api.example.com")
		if n := w.Waits(); n != 1 {
			t.Fatalf("first read of a host: Waits = %d, want 1", n)
		}
		for range 100 {
			s.CooldownUntil("api.example.com")
		}
		if n := w.Waits(); n != 1 {
			t.Fatalf("100 cached reads moved Waits to %d", n)
		}
		s.CooldownUntil("other.example.com")
		if n := w.Waits(); n != 2 {
			t.Fatalf("another host's first read: Waits = %d, want 2", n)
		}
		// A new cooldown is written to Redis while the caller waits.
		s.SetCooldown("api.example.com", time.Now().Add(time.Minute))
		if n := w.Waits(); n != 3 {
			t.Fatalf("SetCooldown (a Redis write): Waits = %d, want 3", n)
		}
		// One that has already ended is not written.
		s.SetCooldown("api.example.com", time.Now().Add(-time.Second))
		if n := w.Waits(); n != 3 {
			t.Fatalf("SetCooldown in the past moved Waits to %d", n)
		}
	})

	t.Run("breaker", func(t *testing.T) {
		s := newBreakers(t, srv, BreakerOptions{})
		var w transport.WaitCounter = s
		for range 100 {
			s.OpenUntil("api.example.com")
		}
		if n := w.Waits(); n != 0 {
			t.Fatalf("Waits = %d; the breaker store's reads never wait", n)
		}
	})

	t.Run("quota", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newFakeGCRA(100000, 100000)
			q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100000, Burst: 100000}, MaxBatch: 500})
			var w transport.WaitCounter = q
			ctx := context.Background()
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
			if n := w.Waits(); n != 1 {
				t.Fatalf("the first take (no lease yet): Waits = %d, want 1", n)
			}
			// Demand grows the batch and leases are taken ahead (in the
			// background); once they are, takes are answered from memory.
			for range 100 {
				for range 10 {
					if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
						t.Fatalf("TakeQuota = %v, %v", d, err)
					}
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
			}
			before, leases := w.Waits(), len(g.calls())
			for range 10 {
				if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
					t.Fatalf("TakeQuota = %v, %v", d, err)
				}
			}
			if n := w.Waits(); n != before {
				t.Fatalf("10 takes from a lease moved Waits from %d to %d", before, n)
			}
			if before >= uint64(leases) {
				t.Fatalf("Waits = %d over %d leases: takes that found a lease taken ahead counted as waits", before, leases)
			}
		})
	})
}
