package transport_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A MaxRetryAfter near the largest time.Duration (a caller meaning "no
// cap") made the cooldown check's MaxRetryAfter plus its one-second slack
// wrap negative, so every cooldown in force, however short, was taken for
// one beyond the cap: the call failed at once with StopRetryAfterCap and
// nothing was sent. A cooldown within the cap is waited out and the call
// sent.
func TestCooldownHugeMaxRetryAfterWaits(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	for _, cap := range []time.Duration{math.MaxInt64, math.MaxInt64 - time.Second/2} {
		hits.Store(0)
		store := transport.NewCooldowns(0)
		rt, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{Cooldowns: store, MaxRetryAfter: cap, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		store.SetCooldown(transport.HostKey(req.URL), time.Now().Add(20*time.Millisecond))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("MaxRetryAfter %v: a 20 ms cooldown failed the call: %v", cap, err)
		}
		resp.Body.Close()
		if n := hits.Load(); n != 1 {
			t.Errorf("MaxRetryAfter %v: the server got %d requests, want 1", cap, n)
		}
	}
}
