package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// Requests the throttle refuses are not sends: they do not count toward
// the measured send rate from which the adaptive limit of a host capped
// only by concurrency starts. Here 2 requests are sent and 20 refused for
// a slot within 100 ms; on a 429 the rate must start from the 1 request
// of the window that was sent (10/s over the minimum 100 ms window,
// halved: 5/s, a 200 ms token wait), not from 21 (105/s, under 10 ms).
func TestThrottleRefusedRequestsDoNotCountAsSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var status atomic.Int32
		status.Store(http.StatusOK)
		next := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: int(status.Load()), Header: http.Header{},
				Body: io.NopCloser(strings.NewReader("x")), Request: req}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{MaxConcurrent: 1},
			MaxWait: time.Millisecond,
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		held, err := rt.RoundTrip(req) // holds the only slot
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			_, err := resSend(t, t.Context(), rt, resURL)
			if !errors.Is(err, transport.ErrRateLimited) {
				t.Fatalf("err %v, want a refusal for the slot", err)
			}
		}
		held.Body.Close()
		status.Store(http.StatusTooManyRequests)
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		status.Store(http.StatusOK)
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil { // the bucket's one token
			t.Fatal(err)
		}
		_, err = resSend(t, t.Context(), rt, resURL)
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) || rl.Reason != transport.ThrottleRate {
			t.Fatalf("err %v, want a *RateLimitError for a token", err)
		}
		if rl.Wait < 100*time.Millisecond {
			t.Errorf("token wait %v, want about 200ms: refused requests were counted as sends", rl.Wait)
		}
	})
}
