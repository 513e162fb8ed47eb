package transport_test

import (
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller's own key in the configured IdempotencyHeader is the call's key:
// it is sent unchanged on every attempt (not replaced by a generated one,
// which would defeat the server's deduplication of the caller's own
// resends), and it makes the call retryable.
func TestReview5CallerKeyInConfiguredHeaderKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(201, ""))
		generated := 0
		rt := newRetry(t, next, transport.RetryConfig{
			IdempotencyKeys:   true,
			IdempotencyHeader: "X-Request-Key",
			NewIdempotencyKey: func() (string, error) { generated++; return "generated", nil },
		})
		_, _, resp, err := resPost(t, t.Context(), rt, "x", "X-Request-Key", "mine")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		reqs := next.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d attempts, want 2", len(reqs))
		}
		for i, r := range reqs {
			if got := r.Header.Values("X-Request-Key"); len(got) != 1 || got[0] != "mine" {
				t.Errorf("attempt %d X-Request-Key %q, want the caller's [mine]", i, got)
			}
		}
		if generated != 0 {
			t.Errorf("%d keys generated for a call that has its own", generated)
		}
	})
}
