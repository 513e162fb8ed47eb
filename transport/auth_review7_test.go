package transport_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A server that keeps rejecting the token the source keeps handing back
// must not cost a token request and a 401 per call: after the first 401
// the calls fail fast, without a send, until the cache's backoff is over.
func TestAuthRejectedTokenHandedBackDoesNotHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		same := tokens.NewToken("same", "Bearer", time.Now().Add(time.Hour))
		src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			fetches.Add(1)
			return same, nil
		})
		next := transporttest.NewResponder(transporttest.Respond(401, "denied", "WWW-Authenticate", `Bearer error="invalid_token"`))
		rt := newAuth(t, next, authCache(t, src))

		resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || string(body) != "denied" {
			t.Fatalf("first call: %d %q, want the 401 intact", resp.StatusCode, body)
		}
		for range 20 {
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if resp != nil {
				resp.Body.Close()
			}
			var ae *transport.AuthError
			if !errors.As(err, &ae) || !errors.Is(err, tokens.ErrTokenRejected) || !errors.Is(err, tokens.ErrBackoff) {
				t.Fatalf("during backoff: %v", err)
			}
		}
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d token requests, want 2", n)
		}
		if n := next.Calls(); n != 1 {
			t.Fatalf("%d sends, want 1", n)
		}
		if err := next.Unclosed(); err != nil {
			t.Fatal(err)
		}
	})
}
