package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestThrottleQuotaWaitEndedWithCause: a shared quota that waits for its
// store with the request's context returns, when the caller cancels with
// a cause (context.WithCancelCause), either ctx.Err() or
// context.Cause(ctx). The first lost the cause (errors.Is(err, cause)
// false, while every other wait in the stack keeps it); the second was
// not recognised as an ended wait: the call failed as a quota that could
// not be consulted ("shared quota for api.example.test: service shutting
// down"). Both now end the call as the caller's cancellation, with its
// cause, and the retry taken from the budget is given back.
func TestThrottleQuotaWaitEndedWithCause(t *testing.T) {
	for _, ret := range []string{"Err", "Cause"} {
		t.Run(ret, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				block := false
				q := quotaFunc(func(ctx context.Context, host string) (time.Duration, error) {
					if !block {
						return 0, nil
					}
					<-ctx.Done() // the store's round trip, ended by the context
					if ret == "Cause" {
						return 0, context.Cause(ctx)
					}
					return 0, ctx.Err()
				})
				next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					calls++
					if calls == 1 { // the first attempt; its retry blocks in the quota
						block = true
						return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
					}
					if calls == 2 {
						return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
					}
					return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
				})
				thr := newThrottle(t, next, transport.ThrottleConfig{Quota: q, MaxWait: 10 * time.Second, DisableAdaptive: true})
				rt := newRetry(t, thr, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(100 * time.Millisecond), Budget: oneRetryBudget})

				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				time.AfterFunc(500*time.Millisecond, func() { cancel(errShutdown) })
				resp, err := resGet(t, ctx, rt)
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got a %d response, want the cancellation", resp.StatusCode)
				}
				if !errors.Is(err, errShutdown) {
					t.Errorf("err = %v, want one matching the cancellation's cause", err)
				}
				if strings.Contains(err.Error(), "shared quota") || strings.Contains(err.Error(), "context canceled") {
					t.Errorf("err = %q: want the cancellation's cause, not a quota failure or context.Canceled", err)
				}
				if got := transport.Classify(ctx, nil, err, time.Now()).Class; got != transport.ClassCanceled {
					t.Errorf("class %v, want canceled", got)
				}
				// The retry that waited in the quota was never sent: given
				// back, the next call may retry.
				block = false
				resp, err = resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 || calls != 3 {
					t.Errorf("second call: status %d after %d sent in all, want 200 after 3", resp.StatusCode, calls)
				}
			})
		})
	}
}
