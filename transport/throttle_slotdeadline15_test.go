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

// A request that waited for a concurrency slot until only MinAttemptTime
// was left before its deadline fails with a *DeadlineError whose
// Remaining is the time that was left before the deadline (the
// MinAttemptTime it kept), as for every other wait: it said 0 (the wait
// it allowed itself minus the time it waited), and its message "0s left".
func TestThrottleSlotDeadlineErrorRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sent := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			sent++
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x")), Request: req}, nil
		})
		const reserve = 100 * time.Millisecond
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:          transport.HostLimit{MaxConcurrent: 1},
			MaxWait:        10 * time.Second,
			MinAttemptTime: reserve,
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		hold, err := rt.RoundTrip(req) // holds the one slot
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Body.Close()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, resURL, nil)
		_, err = rt.RoundTrip(req)
		var de *transport.DeadlineError
		if !errors.As(err, &de) || !errors.Is(err, transport.ErrRateLimited) || sent != 1 {
			t.Fatalf("err %v after %d sent, want a *DeadlineError matching ErrRateLimited after 1", err, sent)
		}
		if de.Remaining != reserve || de.Reason != transport.SourceThrottle {
			t.Errorf("Remaining %v, Reason %s; want %v (what was left before the deadline), throttle: %v", de.Remaining, de.Reason, reserve, err)
		}
	})
}
