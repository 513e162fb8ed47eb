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
