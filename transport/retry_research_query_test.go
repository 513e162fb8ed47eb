package transport_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryQueryMethodIsIdempotent: QUERY (RFC 10008, the former
// draft-ietf-httpbis-safe-method-w-body) is safe and idempotent: "can be
// automatically repeated or restarted". A QUERY whose connection broke
// (an ambiguous failure) must be retried like a GET, without a key; it
// was refused as not replayable.
func TestRetryQueryMethodIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Fail(io.ErrUnexpectedEOF), transporttest.Respond(200, "rows"))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(0)})
		const q = `{"select":"*"}`
		req, err := http.NewRequestWithContext(t.Context(), "QUERY", resURL, strings.NewReader(q))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("QUERY not retried after an ambiguous failure: %v", err)
		}
		if got := resReadAll(t, resp); got != "rows" || next.Calls() != 2 {
			t.Fatalf("got %q after %d attempts, want \"rows\" after 2", got, next.Calls())
		}
		for i, r := range next.Requests() {
			if string(r.Body) != q || r.Header.Get("Idempotency-Key") != "" {
				t.Errorf("attempt %d: body %q, key %q", i, r.Body, r.Header.Get("Idempotency-Key"))
			}
		}
	})
}
