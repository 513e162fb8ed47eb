package transport_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport/transporttest"
)

// A server that keeps rejecting the token the source keeps handing back
// must not cost a token request per call: until the cache's backoff is
// over, a 401 to it asks the source nothing.
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
			// The handed-back token is still sent (the 401 may be one
			// resource's or a passing fault), each 401 returned as is,
			// without a token request.
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if err != nil {
				t.Fatalf("during backoff: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("during backoff: %d, want the 401", resp.StatusCode)
			}
		}
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d token requests, want 2", n)
		}
		if n := next.Calls(); n != 21 {
			t.Fatalf("%d sends, want 21", n)
		}
		if err := next.Unclosed(); err != nil {
			t.Fatal(err)
		}
	})
}
