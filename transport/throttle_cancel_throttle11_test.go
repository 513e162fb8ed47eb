package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestThrottleRefusedWaitsGiveEveryTokenBack: requests the throttle refuses
// at once (their token wait would exceed MaxWait, or end too close to the
// deadline) must give their reservation back in full, however many
// goroutines are refused at the same moment. A reservation made and
// cancelled while another goroutine reserved in between is given back
// only in part by x/time/rate (the later one is "behind" it), so each such
// race left a phantom token in the queue: a storm of refusals pushed the
// bucket into debt no request ever used, and the host was starved well
// beyond its configured rate. The fake clock stands still during the
// storm: after one token interval the next request must go out at once.
func TestThrottleRefusedWaitsGiveEveryTokenBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline bool
	}{{"maxwait", false}, {"deadline", true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sent atomic.Int64
				next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sent.Add(1)
					return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
				})
				rt := newThrottle(t, next, transport.ThrottleConfig{
					Limit:           transport.HostLimit{Rate: 1, Burst: 1},
					MaxWait:         100 * time.Millisecond,
					MinAttemptTime:  -1,
					DisableAdaptive: true,
				})
				const u = "https://api.example.test/x"
				if _, err := resSend(t, t.Context(), rt, u); err != nil {
					t.Fatal(err) // the burst's one token
				}
				ctx := t.Context()
				if tc.deadline {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
					defer cancel()
				}
				const goroutines, each = 8, 3000
				var refused atomic.Int64
				var wg sync.WaitGroup
				for range goroutines {
					wg.Go(func() {
						for range each {
							if _, err := resSend(t, ctx, rt, u); errors.Is(err, transport.ErrRateLimited) {
								refused.Add(1)
							} else {
								t.Errorf("storm request: err %v, want ErrRateLimited", err)
								return
							}
						}
					})
				}
				wg.Wait()
				if n := refused.Load(); n != goroutines*each {
					t.Fatalf("%d refused, want %d", n, goroutines*each)
				}
				time.Sleep(time.Second) // one token back
				_, err := resSend(t, t.Context(), rt, u)
				var rle *transport.RateLimitError
				if errors.As(err, &rle) {
					t.Fatalf("after one token interval: %v (the refused requests left %v of tokens owed)", err, rle.Wait)
				} else if err != nil {
					t.Fatal(err)
				}
				if n := sent.Load(); n != 2 {
					t.Errorf("%d requests sent, want 2", n)
				}
			})
		})
	}
}

// TestThrottleCancelledTokenWaitGivesTokenBack: a request cancelled while
// it waits for a token returns at once with the context's error, sends
// nothing, and gives its token back: the next request waits only for the
// token the cancelled one would have used, not for one after it. No
// goroutine or timer is left behind (synctest.Test fails on a goroutine
// still blocked when the bubble ends).
func TestThrottleCancelledTokenWaitGivesTokenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int64
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:           transport.HostLimit{Rate: 1, Burst: 1},
			MaxWait:         10 * time.Second,
			DisableAdaptive: true,
		})
		const u = "https://api.example.test/x"
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := resSend(t, ctx, rt, u)
			done <- err
		}()
		time.Sleep(400 * time.Millisecond)
		synctest.Wait()
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: err %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != 400*time.Millisecond {
			t.Errorf("cancelled wait returned after %v of fake time, want at the cancel (400ms)", got)
		}
		if _, err := resSend(t, t.Context(), rt, u); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("next request went out after %v of fake time, want 1s (the cancelled request's token given back)", got)
		}
		if n := sent.Load(); n != 2 {
			t.Errorf("%d requests sent, want 2", n)
		}
	})
}

// TestThrottleEightCallersAllServed: 8 goroutines calling one host as fast
// as they can, under both a token bucket and a concurrency cap, are all
// served (none starved) and the host gets exactly the configured rate: the
// fake clock's elapsed time is what the bucket allows for the sends made.
func TestThrottleEightCallersAllServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int64
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			time.Sleep(50 * time.Millisecond) // the server's answer
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:           transport.HostLimit{Rate: 10, Burst: 1, MaxConcurrent: 2},
			MaxWait:         time.Hour,
			DisableAdaptive: true,
		})
		const goroutines, each = 8, 25
		start := time.Now()
		var served [goroutines]int
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for range each {
					if _, err := resSend(t, t.Context(), rt, "https://api.example.test/"); err != nil {
						t.Errorf("caller %d: %v", g, err)
						return
					}
					served[g]++
				}
			})
		}
		wg.Wait()
		for g, n := range served {
			if n != each {
				t.Errorf("caller %d served %d times, want %d", g, n, each)
			}
		}
		// 200 sends at 10/s with a burst of 1: the last goes out at 19.9 s,
		// and is answered 50 ms later.
		if got, want := time.Since(start), 19900*time.Millisecond+50*time.Millisecond; got != want {
			t.Errorf("%d sends took %v of fake time, want %v", sent.Load(), got, want)
		}
	})
}
