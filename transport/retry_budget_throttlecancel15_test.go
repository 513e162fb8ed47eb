package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A retry taken from the budget and then ended by the caller's
// cancellation while it waited in the throttle (for a token, or for a
// concurrency slot) was never sent: it is given back, as it is when the
// cancellation comes during the retry layer's own waits (backoff,
// cooldown) or when the throttle refuses the retry at once. Kept, it cost
// the next call to the host its retry.
func TestBudgetRefundedWhenCanceledInThrottleWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit transport.HostLimit
	}{
		{"token", transport.HostLimit{Rate: 1, Burst: 1}},
		{"slot", transport.HostLimit{MaxConcurrent: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0 // requests of the two calls that reached the host
				next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					if strings.HasSuffix(req.URL.Path, "/hold") { // a download holding the one slot
						return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x")), Request: req}, nil
					}
					calls++
					if calls <= 2 { // each call's first attempt
						return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
					}
					return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
				})
				thr := newThrottle(t, next, transport.ThrottleConfig{Limit: tc.limit, MaxWait: 10 * time.Second, DisableAdaptive: true})
				rt := newRetry(t, thr, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(100 * time.Millisecond), Budget: oneRetryBudget})

				hold := make(chan *http.Response, 1)
				if tc.name == "slot" {
					// During the backoff, once the first attempt's 503 has
					// given its slot back, a download takes the slot and
					// keeps it: the retry waits for it.
					time.AfterFunc(50*time.Millisecond, func() {
						r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/hold", nil)
						resp, err := thr.RoundTrip(r)
						if err != nil {
							t.Error(err)
							return
						}
						hold <- resp
					})
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				time.AfterFunc(500*time.Millisecond, cancel) // the retry is waiting in the throttle by then
				if _, err := resGet(t, ctx, rt); !errors.Is(err, context.Canceled) || calls != 1 {
					t.Fatalf("first call: err %v after %d sent, want context.Canceled after 1", err, calls)
				}
				if tc.name == "slot" {
					(<-hold).Body.Close()
				}
				time.Sleep(time.Second) // the next token
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 || calls != 3 {
					t.Errorf("second call: status %d after %d sent in all, want 200 after 3 (the canceled retry, never sent, refunded)", resp.StatusCode, calls)
				}
			})
		})
	}
}
