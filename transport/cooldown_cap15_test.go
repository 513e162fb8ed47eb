package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// Two clients share a cooldown store, with different MaxRetryAfter caps.
// The first, allowing 5 minutes, is told Retry-After: 240 and cools the
// host down for 4 minutes. The second, capped at 1 s, waited its cap and
// then sent anyway while the cooldown was in force (docs: every call
// "waits it out"). A cooldown longer than the caller's cap is refused at
// once, matching ErrRateLimited, and nothing is sent.
func TestSharedCooldownBeyondCapRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "240")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	store := transport.NewCooldowns(0)
	patient, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{Cooldowns: store, MaxRetryAfter: 5 * time.Minute, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	hasty, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{Cooldowns: store, MaxRetryAfter: time.Second, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := patient.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err = hasty.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a call during a 4-minute cooldown was sent (status %d)", resp.StatusCode)
	}
	if !errors.Is(err, transport.ErrRateLimited) {
		t.Errorf("err = %v, want one matching ErrRateLimited", err)
	}
	if re, ok := errors.AsType[*transport.RetryError](err); !ok || re.Reason != transport.StopRetryAfterCap {
		t.Errorf("err = %v, want a RetryError stopped for the Retry-After cap", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server got %d requests, want 1 (none during the cooldown)", n)
	}
}
