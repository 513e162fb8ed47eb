package fleet

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// BenchmarkCooldownUntil compares the hot-path read of the fleet store
// (served from its cache, one Redis read per RefreshInterval) with the
// in-memory transport.Cooldowns.
func BenchmarkCooldownUntil(b *testing.B) {
	b.Run("fleet", func(b *testing.B) {
		srv := redistest.Start(b)
		s, err := NewCooldownStore(srv.Client(), CooldownOptions{})
		if err != nil {
			b.Fatal(err)
		}
		s.CooldownUntil("api.example.com")
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			s.CooldownUntil("api.example.com")
		}
		b.ReportMetric(float64(s.Stats().RedisCalls), "redis-calls")
	})
	b.Run("local", func(b *testing.B) {
		s := transport.NewCooldowns(0)
		s.SetCooldown("api.example.com", time.Now().Add(-time.Second))
		b.ReportAllocs()
		for b.Loop() {
			s.CooldownUntil("api.example.com")
		}
	})
}

// BenchmarkNonceClaim measures one claim: a Redis round trip on loopback.
func BenchmarkNonceClaim(b *testing.B) {
	srv := redistest.Start(b)
	s, err := NewNonceStore(srv.Client(), NonceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		if err := s.Claim(ctx, "k", strconv.Itoa(i), now, now.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
