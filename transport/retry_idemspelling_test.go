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

// TestRetryCallersKeyUnderAnySpelling: a caller's Idempotency-Key set under
// a non-canonical key (req.Header["idempotency-key"], which net/http sends
// as it is) is the call's key: the POST is replayable, and no generated key
// goes out beside it (a server would see two keys for one call).
func TestRetryCallersKeyUnderAnySpelling(t *testing.T) {
	lower := "idempotency-key" // a non-canonical key, as a caller may set it
	for _, cfg := range []transport.RetryConfig{{}, {IdempotencyKeys: true}} {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(201, ""))
			rt := newRetry(t, next, cfg)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, resURL, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header[lower] = []string{"mine"}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			reqs := next.Requests()
			if len(reqs) != 2 {
				t.Fatalf("IdempotencyKeys %v: %d attempts, want 2 (the caller's key makes the POST replayable)", cfg.IdempotencyKeys, len(reqs))
			}
			for i, r := range reqs {
				if got := r.Header.Values("Idempotency-Key"); len(got) != 0 {
					t.Errorf("IdempotencyKeys %v: attempt %d carries a generated key %q beside the caller's", cfg.IdempotencyKeys, i, got)
				}
				if got := r.Header[lower]; len(got) != 1 || got[0] != "mine" {
					t.Errorf("IdempotencyKeys %v: attempt %d: caller's key %q", cfg.IdempotencyKeys, i, got)
				}
			}
		})
	}
}
