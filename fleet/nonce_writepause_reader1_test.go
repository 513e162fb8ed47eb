package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestNonceStoreWritesPausedMarkedDownUnderShortCallerDeadlines: Redis
// holds back every write and still answers reads (CLIENT PAUSE ... WRITE,
// which Redis itself does during a FAILOVER or a cluster's manual
// failover). A claim's SET then hangs like on a hung Redis, and with every
// caller's deadline shorter than the store's Timeout, Redis must still be
// marked down once Timeout has passed. The check made in the background
// after a caller gave up asked Redis whether the key exists, a read the
// paused Redis answered at once, so it marked Redis up: every claim waited
// out its caller's deadline, forever.
func TestNonceStoreWritesPausedMarkedDownUnderShortCallerDeadlines(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	st, err := NewNonceStore(c, NonceOptions{Timeout: 300 * time.Millisecond, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.Claim(context.Background(), "k", "warm", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	admin := srv.Client()
	// The check changes nothing: a claimed key keeps its value and life.
	key := st.key("k", "warm")
	val, ttl := admin.Get(context.Background(), key).Val(), admin.PTTL(context.Background(), key).Val()
	gone, stop := context.WithCancel(context.Background())
	stop()
	if err := st.Claim(gone, "k", "warm", now, now.Add(time.Minute)); err != context.Canceled {
		t.Fatalf("cancelled claim: %v, want context.Canceled", err)
	}
	eventually(t, "the background check ended", func() bool { return !st.h.watching.Load() })
	if got, left := admin.Get(context.Background(), key).Val(), admin.PTTL(context.Background(), key).Val(); got != val || left > ttl || left <= 0 {
		t.Fatalf("the check changed the claimed key: %q %v, was %q %v", got, left, val, ttl)
	}
	if got := st.Stats(); got.Degraded || got.RedisErrors != 0 {
		t.Fatalf("stats %+v after a cancelled claim on a healthy Redis", got)
	}
	if err := admin.Do(context.Background(), "CLIENT", "PAUSE", 60000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	defer admin.Do(context.Background(), "CLIENT", "UNPAUSE")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err = st.Claim(ctx, "k", "n", now, now.Add(time.Minute))
	cancel()
	if err != context.DeadlineExceeded {
		t.Fatalf("claim with a short deadline on paused writes: %v, want the caller's context.DeadlineExceeded", err)
	}
	eventually(t, "the background check ended", func() bool { return !st.h.watching.Load() })
	if got := st.Stats(); !got.Degraded || got.RedisErrors != 1 {
		t.Fatalf("stats %+v: Redis holding back writes beyond Timeout not marked down", got)
	}
	err = st.Claim(context.Background(), "k", "next", now, now.Add(time.Minute))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim once marked down: %v, want ErrUnavailable", err)
	}
}
