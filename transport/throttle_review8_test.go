package transport_test

import (
	"errors"
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
