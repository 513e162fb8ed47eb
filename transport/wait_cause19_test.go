package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller that cancels with a cause (context.WithCancelCause) gets that
// cause back from net/http when the cancellation ends an attempt in
// flight, and from the retry layer when its context had ended before the
// call; canceled while the stack waited between sends (a backoff, a
// Retry-After, a host cooldown, the throttle's token bucket or
// concurrency cap) the call failed with a bare context.Canceled: the
// cause was lost. Every wait now ends with context.Cause of the context,
// so errors.Is(err, cause) holds wherever the cancellation struck.
func TestWaitCanceledWithCauseKeepsCause(t *testing.T) {
	status := func(code int, retryAfter string) transporttest.RoundTripperFunc {
		return func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			if retryAfter != "" {
				h.Set("Retry-After", retryAfter)
			}
			return &http.Response{StatusCode: code, Header: h, Body: http.NoBody, Request: r}, nil
		}
	}
	for _, tc := range []struct {
		name string
		next http.RoundTripper
		cfg  transport.ResilienceConfig
		// first, when set, is made (and its body left open) before the
		// canceled call.
		first bool
	}{
		{
			name: "backoff",
			next: status(http.StatusServiceUnavailable, ""),
			cfg: transport.ResilienceConfig{
				Retry: transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Minute, MaxDelay: 10 * time.Minute},
			},
		},
		{
			name: "retry-after",
			next: status(http.StatusTooManyRequests, "3600"),
			cfg: transport.ResilienceConfig{
				Retry:           transport.RetryConfig{MaxAttempts: 3, MaxRetryAfter: 2 * time.Hour},
				DisableThrottle: true,
			},
		},
		{
			name: "cooldown",
			next: status(http.StatusTooManyRequests, "3600"),
			cfg: transport.ResilienceConfig{
				Retry:           transport.RetryConfig{MaxAttempts: 1, MaxRetryAfter: 2 * time.Hour},
				DisableThrottle: true,
			},
			first: true,
		},
		{
			name: "throttle-rate",
			next: status(http.StatusOK, ""),
			cfg: transport.ResilienceConfig{
				Retry:    transport.RetryConfig{MaxAttempts: 1},
				Throttle: transport.ThrottleConfig{Limit: transport.HostLimit{Rate: rate.Every(time.Hour), Burst: 1}, MaxWait: 2 * time.Hour},
			},
			first: true,
		},
		{
			name: "throttle-concurrency",
			next: transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: -1,
					Body: transporttest.NewTrackedBody([]byte("x")), Request: r}, nil
			}),
			cfg: transport.ResilienceConfig{
				Retry:    transport.RetryConfig{MaxAttempts: 1},
				Throttle: transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, MaxWait: 2 * time.Hour},
			},
			first: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tc.cfg.TotalTimeout = 10 * time.Hour
				var sent atomic.Int32
				next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
					sent.Add(1)
					return tc.next.RoundTrip(r)
				})
				rt, err := transport.NewResilience(next, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				if tc.first {
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close() // held: the concurrency slot
				}
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				before := sent.Load()
				go func() {
					time.Sleep(10 * time.Second)
					cancel(errShutdown)
				}()
				resp, err := resGet(t, ctx, rt)
				if resp != nil {
					resp.Body.Close()
					t.Fatalf("got a %d response, want the cancellation", resp.StatusCode)
				}
				if !errors.Is(err, errShutdown) {
					t.Errorf("err = %v, want one matching the cancellation's cause %v", err, errShutdown)
				}
				if tc.first && sent.Load() != before {
					t.Errorf("%d sent after the first call, want 0 (canceled in its wait)", sent.Load()-before)
				}
				if strings.Contains(err.Error(), "context canceled") {
					t.Errorf("err = %q, names context.Canceled instead of the cause", err)
				}
			})
		})
	}
}
