package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBudgetDoesNotCountCallsRefusedBeforeSending: a call whose every
// attempt a layer below refused before anything reached the host (an open
// breaker, here) is no call to the host, and earns no retries: after a
// run of calls the open breaker refused, the calls that follow once it
// has closed may retry only their own share (Ratio of their own number),
// not that of the refused ones. Without it, a host just out of an outage
// got a burst of retries as large as the traffic the breaker held back.
func TestBudgetDoesNotCountCallsRefusedBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const refused, calls = 100, 10
		open := true
		sent := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if open {
				return nil, &transport.CircuitOpenError{Host: "api.example.test", Until: time.Now().Add(time.Second), State: transport.BreakerOpen}
			}
			sent++
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		budget := transport.BudgetConfig{Ratio: 0.5, MinRetries: -1, Window: time.Minute}
		rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: budget})
		for range refused {
			if resp, err := resGet(t, t.Context(), rt); err == nil {
				resp.Body.Close()
			}
		}
		open = false
		for range calls {
			if resp, err := resGet(t, t.Context(), rt); err == nil {
				resp.Body.Close()
			}
		}
		// calls first attempts, and at most Ratio*calls retries.
		if max := calls + calls/2; sent > max {
			t.Errorf("%d attempts sent for %d calls after %d refused ones, want at most %d (retries earned by the refused calls)", sent, calls, refused, max)
		}
		if sent < calls {
			t.Errorf("%d attempts sent for %d calls", sent, calls)
		}
	})
}
