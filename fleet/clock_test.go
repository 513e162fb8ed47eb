package fleet

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// fakeClock is the system clock with a wall clock that the test steps
// (as NTP or an operator would) and a time that it moves on without
// sleeping. Its readings come from time.Now moved by both; the ticks of a
// reading take the step out again (a reading is used before the next
// step: the tests step between calls only).
type fakeClock struct {
	step atomic.Int64 // wall clock step, nanoseconds
	skip atomic.Int64 // time moved on, nanoseconds
}

func (f *fakeClock) clock() clock {
	return clock{
		Now: func() time.Time {
			return time.Now().Add(time.Duration(f.step.Load() + f.skip.Load()))
		},
		Mono: func(now time.Time) int64 {
			return monoTicks(now.Add(-time.Duration(f.step.Load())))
		},
	}
}

// A cached end is kept on the monotonic clock: an NTP step of the wall
// clock neither stretches nor shortens it. (Ends were kept in unix
// nanoseconds and answered as time.Unix: after the wall clock stepped an
// hour back, a 30 s cooldown or open state held for an hour and 30 s, on
// every layer that compares them with its own clock reading, and the next
// probe of a Redis marked down came an hour late.) The answer is in the
// frame of the caller's clock reading: the layers compare wall clocks
// (UnixNano) or monotonic readings, and both give the remaining time.
func TestEndsSurviveWallClockStep(t *testing.T) {
	const host = "api.example.com"
	srv := redistest.Start(t)
	remaining := func(t *testing.T, got, now time.Time, want time.Duration) {
		t.Helper()
		for _, d := range []time.Duration{time.Duration(got.UnixNano() - now.UnixNano()), got.Sub(now)} {
			if d > want || d < want-5*time.Second {
				t.Fatalf("%v left after the wall clock stepped back an hour, want %v", d, want)
			}
		}
	}

	t.Run("cooldown", func(t *testing.T) {
		var f fakeClock
		s := newCooldowns(t, srv, CooldownOptions{RefreshInterval: time.Hour})
		s.h.clk = f.clock()
		s.SetCooldown(host, s.h.clk.Now().Add(30*time.Second))
		f.step.Store(int64(-time.Hour))
		f.skip.Store(int64(10 * time.Second))
		now := s.h.clk.Now()
		remaining(t, s.CooldownUntilAt(host, now), now, 20*time.Second)
		remaining(t, s.CooldownUntil(host), s.h.clk.Now(), 20*time.Second)
		// And it ends 30 s after it was set, not an hour and 30 s.
		f.skip.Store(int64(31 * time.Second))
		if now := s.h.clk.Now(); s.CooldownUntilAt(host, now).After(now) {
			t.Fatal("cooldown still on after it ended")
		}
	})

	t.Run("breaker", func(t *testing.T) {
		var f fakeClock
		s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
		s.h.clk = f.clock()
		s.SetOpenUntil(host, s.h.clk.Now().Add(30*time.Second))
		settle(t, s)
		f.step.Store(int64(-time.Hour))
		f.skip.Store(int64(10 * time.Second))
		now := s.h.clk.Now()
		remaining(t, s.OpenUntilAt(host, now), now, 20*time.Second)
	})

	t.Run("probe", func(t *testing.T) {
		var f fakeClock
		s := newCooldowns(t, srv, CooldownOptions{ProbeInterval: time.Second})
		s.h.clk = f.clock()
		s.h.failed(s.h.clk.Now(), nil)
		f.step.Store(int64(-time.Hour))
		f.skip.Store(int64(2 * time.Second))
		if !s.h.try(s.h.clk.Now()) {
			t.Fatal("no probe a probe interval after the failure: the wall clock's step delays it")
		}
	})

	t.Run("lease", func(t *testing.T) {
		var f fakeClock
		g := newFakeGCRA(1000, 1000)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, MinBatch: 10, LeaseTTL: 100 * time.Millisecond,
			Policy: FailClosed, ProbeInterval: time.Hour})
		q.h.clk = f.clock()
		ctx := context.Background()
		if d, err := q.TakeQuota(ctx, host); d != 0 || err != nil { // leases 10
			t.Fatalf("TakeQuota = %v, %v", d, err)
		}
		f.step.Store(int64(-time.Hour))
		f.skip.Store(int64(time.Second)) // the lease has expired
		g.mu.Lock()
		g.err = errors.New("redis: connection refused")
		g.mu.Unlock()
		if d, err := q.TakeQuota(ctx, host); err == nil {
			t.Fatalf("TakeQuota = %v, nil: a lease used %v after its LeaseTTL, the wall clock having stepped back", d, time.Second)
		}
	})

	t.Run("short lease", func(t *testing.T) {
		var f fakeClock
		g := newFakeGCRA(1, 1)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, MinBatch: 10, LeaseTTL: 100 * time.Millisecond})
		q.h.clk = f.clock()
		ctx := context.Background()
		q.TakeQuota(ctx, host) // 1 of 10: short, the next lease waits
		q.TakeQuota(ctx, host)
		calls := len(g.calls())
		f.step.Store(int64(-time.Hour))
		f.skip.Store(int64(time.Second)) // past the wait (at most LeaseTTL)
		q.TakeQuota(ctx, host)
		if n := len(g.calls()); n != calls+1 {
			t.Fatalf("%d leases after the wait, want 1: the wall clock's step holds leasing off", n-calls)
		}
	})
}
