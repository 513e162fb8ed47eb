package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestThrottleCancelledTokenWaitersGiveEveryTokenBack: requests cancelled
// while they wait for a token, in the order they queued (the first to wait
// is the first to give up, as with one deadline per caller), send nothing
// and use no token: once the one token spent is back the next request goes
// out at once, not after the tokens the cancelled requests never used.
func TestThrottleCancelledTokenWaitersGiveEveryTokenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, sent := countingThrottle(t, transport.ThrottleConfig{
			Limit:           transport.HostLimit{Rate: 1, Burst: 1},
			MaxWait:         time.Minute,
			DisableAdaptive: true,
		})
		const u = "https://api.example.test/x"
		start := time.Now()
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err) // the burst's one token
		}
		const waiters = 3
		var cancels [waiters]context.CancelFunc
		var done [waiters]chan error
		for i := range waiters {
			ctx, cancel := context.WithCancel(t.Context())
			cancels[i], done[i] = cancel, make(chan error, 1)
			go func() {
				_, err := resSend(t, ctx, rt, u)
				done[i] <- err
			}()
			synctest.Wait() // queued in this order
		}
		time.Sleep(400 * time.Millisecond)
		for i := range waiters {
			cancels[i]()
			if err := <-done[i]; !errors.Is(err, context.Canceled) {
				t.Fatalf("waiter %d: err %v, want context.Canceled", i, err)
			}
		}
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("next request went out after %v of fake time, want 1s (%d cancelled waiters used no token)", got, waiters)
		}
		if n := sent.Load(); n != 2 {
			t.Errorf("%d requests sent, want 2", n)
		}
	})
}

// TestThrottleCancelledTokenWaiterBeforeServedOnesGivesNothing: a request
// that gives up its token wait while later requests still wait for theirs
// cannot give its token back (the later ones are due at their times), and
// once they are served it is not given back either: the host never sends
// beyond its rate.
func TestThrottleCancelledTokenWaiterBeforeServedOnesGivesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, sent := countingThrottle(t, transport.ThrottleConfig{
			Limit:           transport.HostLimit{Rate: 1, Burst: 1},
			MaxWait:         time.Minute,
			DisableAdaptive: true,
		})
		const u = "https://api.example.test/x"
		start := time.Now()
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() {
			_, err := resSend(t, ctx, rt, u)
			first <- err
		}()
		synctest.Wait()
		later := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := resSend(t, t.Context(), rt, u)
				later <- err
			}()
			synctest.Wait()
		}
		time.Sleep(400 * time.Millisecond)
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("first waiter: err %v, want context.Canceled", err)
		}
		for range 2 {
			if err := <-later; err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("the later waiters were served by %v of fake time, want 3s", got)
		}
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 4*time.Second {
			t.Errorf("next request went out after %v of fake time, want 4s (one token a second)", got)
		}
		if n := sent.Load(); n != 4 {
			t.Errorf("%d requests sent, want 4", n)
		}
	})
}

// countingThrottle returns a throttle built with cfg over a next that
// answers 200 to every request, and the count of requests it sent.
func countingThrottle(t *testing.T, cfg transport.ThrottleConfig) (http.RoundTripper, *atomic.Int64) {
	sent := new(atomic.Int64)
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	return newThrottle(t, next, cfg), sent
}
