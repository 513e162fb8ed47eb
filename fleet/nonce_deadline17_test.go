package fleet

import (
	"context"
	"errors"
	"runtime"
	"sync"
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

// TestNonceStoreHungRedisMarkedDownUnderShortCallerDeadlines: every
// caller's deadline (a verifier behind http.TimeoutHandler) is far shorter
// than the store's Timeout. A Redis that hangs must still be marked down
// once the store's own Timeout has passed, so that the next claims fail
// fast under the policy instead of each waiting out its caller's deadline,
// forever. Each caller still sees its own context's error, and the store
// leaves no goroutine behind.
func TestNonceStoreHungRedisMarkedDownUnderShortCallerDeadlines(t *testing.T) {
	srv := redistest.Start(t)
	// The baseline is taken before the client exists: a go-redis client
	// runs a goroutine of its own until it is closed.
	base := runtime.NumGoroutine()
	c := srv.Client() // a new client: the two stores share its pool
	st, err := NewNonceStore(c, NonceOptions{Timeout: 2 * time.Second, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Warm the client's pool, so the claims below reach Redis's socket.
	warm, err := NewNonceStore(c, NonceOptions{Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := warm.Claim(context.Background(), "k", "warm", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			errs[i] = st.Claim(ctx, "k", "n"+string(rune('a'+i)), now, now.Add(time.Minute))
		})
	}
	noHang(t, "claims with a short deadline on a hung Redis", wg.Wait)
	for i, err := range errs {
		// What the caller sees on its own deadline is its context's
		// error, as before: not a Redis outage.
		if err != context.DeadlineExceeded {
			t.Fatalf("claim %d: %v, want the caller's context.DeadlineExceeded", i, err)
		}
	}

	eventually(t, "the hung Redis marked down", func() bool { return st.Stats().Degraded })
	// One watcher for the eight callers: its one failure is the only
	// Redis error (the callers' deadlines are not Redis's fault).
	if got := st.Stats(); got.RedisCalls != n+1 || got.RedisErrors != 1 {
		t.Errorf("stats %+v, want %d calls (the claims and one watcher) and 1 error", got, n+1)
	}

	// The next claim fails fast under FailClosed: no Redis call, and its
	// error is the store's, not its caller's deadline.
	calls := st.Stats().RedisCalls
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err = st.Claim(ctx, "k", "next", now, now.Add(time.Minute))
	cancel()
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claim on a Redis marked down: %v, want ErrUnavailable", err)
	}
	if got := st.Stats().RedisCalls - calls; got != 0 {
		t.Errorf("claim on a Redis marked down made %d Redis calls, want 0", got)
	}

	srv.Resume()
	resumed = true
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}
