package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestNonceStoreCallerDeadlineIsNotAnOutage: a claim cut by its caller's
// deadline, shorter than the store's Timeout, on a Redis that hangs
// returns the caller's context.DeadlineExceeded and does not mark Redis
// down, however the cut reaches the store. go-redis turns the deadline
// into the socket's, whose i/o timeout can come back before the context's
// own timer has ended it (ctx.Err() still nil): that was taken for a
// Redis timeout, the claim refused with ErrUnavailable and Redis marked
// down by a caller's deadline.
func TestNonceStoreCallerDeadlineIsNotAnOutage(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	st, err := NewNonceStore(c, NonceOptions{Timeout: patientTimeout, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.Claim(context.Background(), "k", "warm", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	for i := range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		var err error
		noHang(t, "claim with a short deadline on a hung Redis", func() {
			err = st.Claim(ctx, "k", "n"+time.Now().String(), now, now.Add(time.Minute))
		})
		cancel()
		if err != context.DeadlineExceeded {
			t.Fatalf("claim %d: %v, want the caller's context.DeadlineExceeded", i, err)
		}
	}
	if got := st.Stats(); got.RedisErrors != 0 {
		t.Errorf("stats %+v: a caller's deadline counted as a Redis error", got)
	}
}
