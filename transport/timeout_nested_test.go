package transport_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// A second reader's test for 090edb7 ("the attempt timeout restarts from
// the entry context on a resend"); fixed since: only a released deadline
// of the attempt means a resend. NewAttemptTimeout documents that "each attempt
// runs under min(attempt, the deadline it already has)". Two attempt
// timeouts nested in one attempt (a 1s one outside a 1min one) must bound
// the attempt at 1s. The inner layer receives the request with the outer
// layer's *attemptDeadline, of the same attempt, as its context: exactly
// what the re-entry check (parent.(*attemptDeadline), prev.a == a) takes
// for "an earlier send of this attempt", so the inner layer drops the
// outer deadline (parent = prev.entry) and the attempt runs for 1min.
// Before 090edb7 the inner layer saw the earlier deadline and added
// nothing.
func TestReviewNestedAttemptTimeoutsKeepTheShorter(t *testing.T) {
	const outer, inner = time.Second, time.Minute
	for _, tc := range apTotals {
		for _, shared := range []bool{false, true} {
			name := tc.name
			if shared {
				name += "/shared"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rt, err := transport.NewAttemptTimeout(r4Blocking, inner)
					if err != nil {
						t.Fatal(err)
					}
					if rt, err = transport.NewAttemptTimeout(rt, outer); err != nil {
						t.Fatal(err)
					}
					rt = newRetry(t, rt, transport.RetryConfig{MaxAttempts: 1, SharedClock: shared})
					if tc.total > 0 {
						if rt, err = transport.NewTotalTimeout(rt, 10*time.Minute); err != nil {
							t.Fatal(err)
						}
					}
					start := time.Now()
					_, err = resGet(t, t.Context(), rt)
					took := time.Since(start) // synctest's fake clock: exact
					var ate *transport.AttemptTimeoutError
					if !errors.As(err, &ate) {
						t.Fatalf("err = %v, want an *AttemptTimeoutError", err)
					}
					if took != outer {
						t.Fatalf("the attempt ran %v (error's Timeout %v); the outer attempt timeout of %v was dropped by the inner layer",
							took, ate.Timeout, outer)
					}
				})
			})
		}
	}
}

var _ http.RoundTripper = r4Blocking
