package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// longTTLs are remaining lives an operator's "for good" (PEXPIRE with a
// huge count) or a Redis-compatible proxy can give a cooldown or open
// key: 200 years (as a Duration, but past the largest tick once added to
// now) and 300 years (past the largest Duration in nanoseconds).
var longTTLs = []struct {
	name string
	ms   int64
}{
	{"200y", 200 * 365 * 24 * 3600 * 1000},
	{"300y", 300 * 365 * 24 * 3600 * 1000},
}

// TestCooldownStoreLongTTLHolds: a cooldown key whose remaining life is
// centuries is a cooldown (a far end), not none: the end on this
// replica's clock saturates instead of wrapping into the past.
func TestCooldownStoreLongTTLHolds(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range longTTLs {
		t.Run(tc.name, func(t *testing.T) {
			s := newCooldowns(t, srv, CooldownOptions{})
			host := "long-" + tc.name + ".example.com"
			key := DefaultPrefix + "cooldown:" + host
			ctx := context.Background()
			if err := srv.Client().Do(ctx, "SET", key, "1", "PX", tc.ms).Err(); err != nil {
				t.Fatal(err)
			}
			if got := s.CooldownUntil(host); got.Before(time.Now().Add(100 * 365 * 24 * time.Hour)) {
				t.Fatalf("CooldownUntil = %v for a key %d ms from its end: want about a century or more ahead", got, tc.ms)
			}
			// A write over it keeps the longer end, and the store still
			// reports it.
			s.SetCooldown(host, time.Now().Add(time.Minute))
			if got := s.CooldownUntil(host); got.Before(time.Now().Add(100 * 365 * 24 * time.Hour)) {
				t.Fatalf("after SetCooldown: CooldownUntil = %v, want about a century or more ahead", got)
			}
		})
	}
}

// TestBreakerStoreLongTTLHolds: the same for a breaker's shared open
// state.
func TestBreakerStoreLongTTLHolds(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range longTTLs {
		t.Run(tc.name, func(t *testing.T) {
			s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Nanosecond})
			host := "long-" + tc.name + ".example.com"
			key := DefaultPrefix + "breaker:" + host
			if err := srv.Client().Do(context.Background(), "SET", key, "1", "PX", tc.ms).Err(); err != nil {
				t.Fatal(err)
			}
			s.OpenUntil(host) // starts the read
			settle(t, s)
			if got := s.OpenUntil(host); got.Before(time.Now().Add(100 * 365 * 24 * time.Hour)) {
				t.Fatalf("OpenUntil = %v for a key %d ms from its end: want about a century or more ahead", got, tc.ms)
			}
		})
	}
}
