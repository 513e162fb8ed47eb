package transport_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// RetryError.Attempts counts the attempts the layer made, as MaxAttempts
// and transport.Attempts(resp) count them: an attempt an inner layer (here
// the throttle) refused before sending counts, and the error says it was
// never sent.
func TestRetryErrorAttemptsCountsRefusedAttempt(t *testing.T) {
	var sent atomic.Int64
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	thr := newThrottle(t, next, transport.ThrottleConfig{
		Limit:   transport.HostLimit{Rate: 0.001, Burst: 1},
		MaxWait: time.Millisecond,
	})
	rt := newRetry(t, thr, transport.RetryConfig{})
	if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
		t.Fatal(err)
	}
	_, err := resSend(t, t.Context(), rt, resURL)
	var re *transport.RetryError
	if !errors.As(err, &re) || !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("err %v, want a *RetryError matching ErrRateLimited", err)
	}
	if re.Attempts != 1 || sent.Load() != 1 {
		t.Errorf("Attempts %d with %d sends in all, want 1 attempt (refused) and 1 send (the first call)", re.Attempts, sent.Load())
	}
}
