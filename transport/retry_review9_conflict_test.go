package transport_test

import (
	"io"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryConflictAfterUnprocessedAnswer: a 408, 425 or 429 answering an
// earlier attempt says the server did not process it (it timed out before
// the request was complete, refused early data, or shed it), so a keyed
// retry's 409 cannot be that attempt still in progress: it is a genuine
// conflict and is the caller's answer at once, not retried with the
// remaining attempts. An ambiguous attempt before the 429 still counts.
func TestRetryConflictAfterUnprocessedAnswer(t *testing.T) {
	for _, status := range []int{408, 425, 429} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(
					transporttest.Respond(status, "not processed"),
					transporttest.Respond(409, "conflict"),
					transporttest.Respond(201, "created"),
				)
				rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)})
				_, _, resp, err := resPost(t, t.Context(), rt, `{"n":1}`)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 409 || next.Calls() != 2 {
					t.Errorf("got %d after %d attempts, want the 409 after 2", resp.StatusCode, next.Calls())
				}
			})
		})
	}
	t.Run("ambiguous then 429", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(
				transporttest.Fail(io.ErrUnexpectedEOF), // may be in progress
				transporttest.Respond(429, "slow down"),
				transporttest.Respond(409, "outstanding"),
				transporttest.Respond(201, "created"),
			)
			rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, MaxAttempts: 4, Backoff: resFixedBackoff(0)})
			_, _, resp, err := resPost(t, t.Context(), rt, `{"n":1}`)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 201 || next.Calls() != 4 {
				t.Errorf("got %d after %d attempts, want 201 after 4", resp.StatusCode, next.Calls())
			}
		})
	})
}
