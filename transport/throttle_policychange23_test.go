package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestThrottlePolicyChangedToNoRequestRate: the latest RateLimit-Policy a
// response carries sets the throttle's ceiling, as the server may change
// its policy at any time (draft-ietf-httpapi-ratelimit-headers). A host
// held at the request quota of a policy with a long window (q=60, w=3600:
// held at MinRate) kept that ceiling for the policy's hold, up to an hour,
// after the server replaced the policy with one the throttle takes no
// request rate from (a quota in content bytes, or one without w): the
// replaced policy was still obeyed. It now lapses when its field is
// replaced, and the limit is lifted once the rate has recovered.
func TestThrottlePolicyChangedToNoRequestRate(t *testing.T) {
	for _, tc := range []struct {
		newPolicy string
		held      bool
	}{
		{`"bytes";q=1000000;qu="content-bytes";w=1`, false},
		{`"trial";q=1000`, false},
		// A malformed field is ignored, as the draft asks: the policy
		// seen before stands.
		{`"broken";w=1`, true},
		{``, true}, // no field: later responses need not carry it
	} {
		newPolicy := tc.newPolicy
		t.Run(newPolicy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sends []time.Time
				n := 0
				next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					n++
					sends = append(sends, time.Now())
					h := http.Header{}
					status := http.StatusOK
					if n == 1 {
						status = http.StatusTooManyRequests
						h.Set("RateLimit-Policy", `"hourly";q=60;w=3600`)
					} else if newPolicy != "" {
						h.Set("RateLimit-Policy", newPolicy)
					}
					return &http.Response{StatusCode: status, Header: h, Body: http.NoBody, Request: req}, nil
				})
				rt := newThrottle(t, next, transport.ThrottleConfig{MaxWait: time.Minute})
				send := func() {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
				send() // 429: held at the hourly quota (MinRate, 0.5/s)
				// A minute of requests, one a second, each answered under the
				// new policy.
				for end := time.Now().Add(time.Minute); time.Now().Before(end); {
					send()
					time.Sleep(time.Second)
				}
				sends = sends[:0]
				for range 5 {
					send()
				}
				d := sends[4].Sub(sends[0])
				if !tc.held && d > 0 {
					t.Errorf("5 requests a minute after the policy was replaced took %v: still held at the replaced policy's quota", d)
				}
				if tc.held && d < 8*time.Second {
					t.Errorf("5 requests took %v: the policy's hold (0.5/s) was lifted by a field that does not replace it", d)
				}
			})
		})
	}
}
