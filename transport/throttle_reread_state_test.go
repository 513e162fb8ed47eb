package transport_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestThrottleLoweredHostsLeftIdleDoNotStarveNewHosts: a host whose
// adaptive rate a 429 lowered recovers only when a request for it comes
// (recovery is lazy), so one that is never called again must still count
// as idle once its recovery is over: otherwise MaxHosts such hosts (webhook
// targets that once shed load, or hostnames an attacker answers 429 from)
// fill the table for good and every request to a new host is refused.
func TestThrottleLoweredHostsLeftIdleDoNotStarveNewHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int64
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			code := http.StatusOK
			if r.URL.Host != "new.example.test" {
				code = http.StatusTooManyRequests
			}
			return &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{MaxHosts: 2})
		for _, u := range []string{"https://a.example.test/", "https://b.example.test/"} {
			if _, err := resSend(t, t.Context(), rt, u); err != nil {
				t.Fatal(err)
			}
		}
		// Far longer than a full recovery (10 steps of 1 s by default).
		time.Sleep(time.Hour)
		if _, err := resSend(t, t.Context(), rt, "https://new.example.test/"); err != nil {
			t.Errorf("new host an hour after the others' last 429: %v", err)
		}
		if n := sent.Load(); n != 3 {
			t.Errorf("%d requests sent, want 3", n)
		}
	})
}
