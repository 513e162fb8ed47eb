package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// oneRetryBudget allows exactly one retry per window whatever the traffic.
var oneRetryBudget = transport.BudgetConfig{Ratio: 0.01, MinRetries: 1, Window: time.Minute}

// A retry the breaker refuses is never sent: it must not spend the host's
// retry budget, or a host whose breaker is open would also lose the
// retries of the calls that follow once it has closed.
func TestReview7BudgetRefundedWhenBreakerRefusesRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			switch calls {
			case 1, 3: // each call's first attempt
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			case 2: // the first call's retry: refused below the retry layer
				return nil, &transport.CircuitOpenError{Host: "api.example.test", Until: time.Now().Add(time.Second), State: transport.BreakerOpen}
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		if _, err := resGet(t, t.Context(), rt); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("first call: err %v, want ErrCircuitOpen", err)
		}
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || calls != 4 {
			t.Errorf("second call: status %d after %d attempts in all, want 200 after 4 (the refused retry refunded)", resp.StatusCode, calls)
		}
	})
}

// A retry the deadline stops after the budget was taken (the drain of the
// discarded body ate the room) was never sent: it is refunded.
func TestReview7BudgetRefundedWhenDeadlineStopsRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			if calls == 1 {
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: &trickleBody{n: 10}, Request: req}, nil
			}
			if calls == 2 {
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := resGet(t, ctx, rt)
		cancel()
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopDeadline || calls != 1 {
			t.Fatalf("first call: err %v after %d attempts, want a deadline stop after 1", err, calls)
		}
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || calls != 3 {
			t.Errorf("second call: status %d after %d attempts in all, want 200 after 3 (the unsent retry refunded)", resp.StatusCode, calls)
		}
	})
}

// When the budget refuses, the last response is still returned intact.
func TestReview7BudgetRefusalKeepsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, "down"))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = resGet(t, t.Context(), rt)
		if err != nil || resp.StatusCode != 503 || resReadAll(t, resp) != "down" {
			t.Fatalf("budget spent: %v %v", resp, err)
		}
		if next.Calls() != 3 {
			t.Errorf("%d attempts, want 2 + 1", next.Calls())
		}
	})
}
