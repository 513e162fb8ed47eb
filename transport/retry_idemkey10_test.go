package transport_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A generator that returns an empty key (or one that is not a valid field
// value) must not make a POST retryable: no key would be sent, and the
// server could execute the retried POST twice.
func TestRetryIdempotencyKeyGeneratorEmptyOrInvalid(t *testing.T) {
	for _, k := range []string{"", "a\r\nX-Evil: 1"} {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, "x"), transporttest.Respond(200, ""))
			rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, NewIdempotencyKey: func() (string, error) { return k, nil }})
			_, body, _, err := resPost(t, context.Background(), rt, "x")
			var re *transport.RetryError
			if !errors.As(err, &re) || re.Reason != transport.StopBody || re.Attempts != 0 {
				t.Errorf("key %q: err %v", k, err)
			}
			if next.Calls() != 0 || !body.Closed() {
				t.Errorf("key %q: calls %d, body closed %v", k, next.Calls(), body.Closed())
			}
		})
	}
}

// The generated key is sent bare, as the UUID itself (not as a quoted
// sf-string): see docs/resilience.md.
func TestRetryIdempotencyKeyWireFormat(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true})
	resp, _, _, err := resPost(t, context.Background(), rt, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	vs := next.Requests()[0].Header.Values("Idempotency-Key")
	if len(vs) != 1 || len(vs[0]) != 36 || vs[0][14] != '4' || vs[0][0] == '"' {
		t.Fatalf("Idempotency-Key %q, want one bare UUIDv4", vs)
	}
}
