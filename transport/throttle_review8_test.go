package transport_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A throttle signal never raises a host's rate: a host configured below
// MinRate (0.1/s, one request every 10 s) that gets a 429 keeps sending at
// most at its configured rate. MinRate is the floor of the adaptive
// decrease, not a rate to jump up to.
func TestThrottleSignalNeverRaisesConfiguredRateBelowMinRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(http.StatusTooManyRequests, ""))
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 0.1, Burst: 1},
			MaxWait: 5 * time.Second,
		})
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil { // the burst token, a 429
			t.Fatal(err)
		}
		// The next token is due in 10 s at the configured rate: beyond
		// MaxWait, so the request is refused and not sent.
		_, err := resSend(t, t.Context(), rt, resURL)
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err %v, want *RateLimitError: the 429 raised the rate above the configured 0.1/s", err)
		}
		if n := next.Calls(); n != 1 {
			t.Errorf("%d requests sent, want 1", n)
		}
	})
}

// A quota wait too long to add to the time already waited without
// overflowing a time.Duration (a quota saying "not for a very long time")
// is refused like any wait beyond MaxWait: the sum must not wrap around to
// a negative total that passes the check and sleeps for ever on a context
// without a deadline.
func TestThrottleHugeQuotaWaitAfterTokenWaitRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		q := &scriptQuota{script: []quotaAnswer{{}, {wait: math.MaxInt64}, {}}}
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 1, Burst: 1},
			MaxWait: 5 * time.Second,
			Quota:   q,
		})
		if _, err := resSend(t, context.Background(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		_, err := resSend(t, context.Background(), rt, resURL) // 1 s for a token, then "forever" for the quota
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) || rl.Reason != transport.ThrottleQuota {
			t.Fatalf("err %v, want *RateLimitError for the quota", err)
		}
		if n := next.Calls(); n != 1 {
			t.Errorf("%d requests sent, want 1", n)
		}
	})
}
