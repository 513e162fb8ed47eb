package transport_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryConflictNoTimeLeftReturnsTheConflict: a keyed POST's 409 after
// an ambiguous first attempt is retried when there is time for it; when
// the wait before the retry does not fit the call's deadline, the 409 is
// the call's answer, as it was before the layer retried such 409s. The
// layer cannot tell the draft's "still processing" conflict from a
// genuine one (a problem document the caller reads): it must not turn
// the server's answer into a DeadlineError that has thrown the body away.
func TestRetryConflictNoTimeLeftReturnsTheConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(
			transporttest.Fail(io.ErrUnexpectedEOF),
			transporttest.Respond(409, "already exists", "Retry-After", "20"),
			transporttest.Respond(201, "created"),
		)
		rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, _, resp, err := resPost(t, ctx, rt, `{"n":1}`)
		if err != nil {
			t.Fatalf("err = %v, want the 409", err)
		}
		body := resReadAll(t, resp)
		if resp.StatusCode != http.StatusConflict || body != "already exists" {
			t.Fatalf("got %d %q, want 409 %q", resp.StatusCode, body, "already exists")
		}
		if next.Calls() != 2 {
			t.Errorf("%d attempts, want 2", next.Calls())
		}
	})
}
