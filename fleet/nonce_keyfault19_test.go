package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// TestNonceForeignKeyValueDoesNotMarkRedisDown: a nonce's key holding a
// value of another type (something else's under the store's prefix: a
// list) makes the claim's SET NX find the key and its GET fail with
// WRONGTYPE. That is the key's fault, not Redis's: the claim gets the
// Policy (FailClosed: refused, an *Error matching ErrUnavailable, never
// accepted, since the nonce cannot be recorded; FallBackLocal: the local
// store), counted as a Redis error, and Redis is not marked down, so every
// other nonce is still claimed in Redis. Before, the one key marked Redis
// down: under FailClosed every request was refused for a ProbeInterval
// while Redis answered, and under FallBackLocal every replica claimed
// locally, where a replay sent to another replica is accepted.
func TestNonceForeignKeyValueDoesNotMarkRedisDown(t *testing.T) {
	for _, policy := range []Policy{FailClosed, FallBackLocal} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := redistest.Start(t)
			c := srv.Client()
			st, err := NewNonceStore(c, NonceOptions{Prefix: "t:", Timeout: patientTimeout, Policy: policy, ProbeInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := c.RPush(ctx, st.key("k", "bad"), "x").Err(); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			until := now.Add(time.Minute)
			err = st.Claim(ctx, "k", "bad", now, until)
			switch policy {
			case FailClosed:
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, signer.ErrReplay) {
					t.Fatalf("Claim of the foreign key: %v, want an *Error matching ErrUnavailable", err)
				}
			default:
				if err != nil {
					t.Fatalf("Claim of the foreign key under FallBackLocal: %v, want the local claim", err)
				}
				if err := st.Claim(ctx, "k", "bad", now, until); !errors.Is(err, signer.ErrReplay) {
					t.Fatalf("second Claim of it under FallBackLocal: %v, want the local store's ErrReplay", err)
				}
			}
			s := st.Stats()
			if s.Degraded || s.RedisErrors == 0 {
				t.Fatalf("after the foreign key's claim: %+v, want a Redis error counted and Redis not marked down", s)
			}
			calls := s.RedisCalls
			for _, n := range []string{"good1", "good2"} {
				if err := st.Claim(ctx, "k", n, now, until); err != nil {
					t.Fatalf("Claim(%s): %v", n, err)
				}
			}
			if err := st.Claim(ctx, "k", "good1", now, until); !errors.Is(err, signer.ErrReplay) {
				t.Fatalf("replay of good1: %v, want ErrReplay", err)
			}
			if s := st.Stats(); s.Degraded || s.RedisCalls < calls+3 {
				t.Fatalf("the other nonces were not claimed in Redis: %+v (before: %d calls)", s, calls)
			}
			if n, err := c.Exists(ctx, st.key("k", "good1"), st.key("k", "good2")).Result(); err != nil || n != 2 {
				t.Fatalf("good nonces in Redis: %d, %v; want 2", n, err)
			}
		})
	}
}
