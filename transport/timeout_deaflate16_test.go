package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestAttemptTimeoutDeafTransportUnderTotalAndAttempt: a transport that never
// waited on the deadline answers after the total timeout; the total
// timeout alone passes the answer on (lateForDeadline: nothing waited),
// and so should the same stack with an attempt timeout (longer than the
// total) between them.
func TestAttemptTimeoutDeafTransportUnderTotalAndAttempt(t *testing.T) {
	for _, withAttempt := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var next http.RoundTripper = deafSlow{}
			if withAttempt {
				var err error
				if next, err = transport.NewAttemptTimeout(next, 10*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			rt, err := transport.NewTotalTimeout(next, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://example.test/", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("withAttempt=%v: err %v, want the answer", withAttempt, err)
				return
			}
			resp.Body.Close()
		})
	}
}

// TestAttemptTimeoutDeafTransportUnderNestedAttemptTimeouts: the same with two
// attempt timeouts, the outer one shorter: the inner one, whose parent's
// deadline comes first, took the outer deadline's end for a late answer
// though nothing waited on it; a single attempt timeout returns the
// answer (TestAttemptTimeoutDeafTransportAnswers).
func TestAttemptTimeoutDeafTransportUnderNestedAttemptTimeouts(t *testing.T) {
	for _, underRetry := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			rt, err := transport.NewAttemptTimeout(deafSlow{}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if rt, err = transport.NewAttemptTimeout(rt, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			if underRetry {
				if rt, err = transport.NewRetry(rt, transport.RetryConfig{}); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := resGet(t, t.Context(), rt)
			if err != nil {
				t.Errorf("underRetry=%v: err %v, want the answer", underRetry, err)
				return
			}
			resp.Body.Close()
		})
	}
}
