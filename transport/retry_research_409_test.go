package transport_test

import (
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryIdempotencyKeyConflictWhileOutstanding: a keyed POST whose first
// attempt may have reached the server (a broken connection) is retried
// with the same key; a server still processing that first attempt answers
// the retry 409 Conflict (draft-ietf-httpapi-idempotency-key-header: "the
// request was retried before the original request completed", a 409 "where
// no correction is required"). That 409 says nothing about the operation's
// outcome: the layer must retry it with the same key, not hand the caller
// a conflict for a call it made once (whose own retry, with a new key,
// would duplicate the operation).
func TestRetryIdempotencyKeyConflictWhileOutstanding(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  transport.RetryConfig
		hdr  []string
	}{
		{"generated key", transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)}, nil},
		{"caller's key", transport.RetryConfig{Backoff: resFixedBackoff(0)}, []string{"Idempotency-Key", "k-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(
					transporttest.Fail(io.ErrUnexpectedEOF), // ambiguous: may be in progress
					transporttest.Respond(409, "outstanding"),
					transporttest.Respond(201, "created"),
				)
				rt := newRetry(t, next, tc.cfg)
				_, _, resp, err := resPost(t, t.Context(), rt, `{"n":1}`, tc.hdr...)
				if err != nil {
					t.Fatal(err)
				}
				body := resReadAll(t, resp)
				if resp.StatusCode != 201 || body != "created" {
					t.Fatalf("got %d %q, want 201 (the 409 of the outstanding first attempt retried)", resp.StatusCode, body)
				}
				reqs := next.Requests()
				if len(reqs) != 3 {
					t.Fatalf("%d attempts, want 3", len(reqs))
				}
				key := reqs[0].Header.Get("Idempotency-Key")
				for i, r := range reqs {
					if got := r.Header.Get("Idempotency-Key"); got == "" || got != key {
						t.Errorf("attempt %d key %q, want %q", i, got, key)
					}
				}
			})
		})
	}
}

// TestRetryConflictNotRetriedOtherwise: a 409 stays the caller's answer
// when it cannot be the draft's "still processing" conflict: on the first
// attempt, for a request without a key (a PUT's version conflict), and
// after an attempt that never reached the server.
func TestRetryConflictNotRetriedOtherwise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(409, "conflict"), transporttest.Respond(201, ""))
		rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)})
		_, _, resp, err := resPost(t, t.Context(), rt, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 409 || next.Calls() != 1 {
			t.Errorf("first-attempt 409: got %d after %d attempts, want 409 after 1", resp.StatusCode, next.Calls())
		}

		next = transporttest.NewResponder(transporttest.Fail(io.ErrUnexpectedEOF), transporttest.Respond(409, "conflict"), transporttest.Respond(200, ""))
		resp, err = resGet(t, t.Context(), newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(0)}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 409 || next.Calls() != 2 {
			t.Errorf("unkeyed 409: got %d after %d attempts, want 409 after 2", resp.StatusCode, next.Calls())
		}

		refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		next = transporttest.NewResponder(transporttest.Fail(refused), transporttest.Respond(409, "conflict"), transporttest.Respond(201, ""))
		_, _, resp, err = resPost(t, t.Context(), newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)}), "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 409 || next.Calls() != 2 {
			t.Errorf("409 after a never-sent attempt: got %d after %d attempts, want 409 after 2", resp.StatusCode, next.Calls())
		}
	})
}
