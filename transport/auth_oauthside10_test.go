package transport_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A resource server that rejects every token (a wrong audience, a hostile
// host in scope, a key mismatch on the server) must not cost one token
// request per call: the token endpoint (often rate-limited or billed per
// token) would get the API's whole request rate. A token that replaced a
// rejected one and is itself rejected soon after is kept for a backoff
// step (WithBackoff, doubling), its 401s returned as is without a token
// request; after the step one new token is tried.
func TestAuthServerRejectingEveryTokenDoesNotHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &seqSource{}
		var sends atomic.Int32
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sends.Add(1)
			h := http.Header{}
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			return &http.Response{StatusCode: 401, Header: h, Body: io.NopCloser(strings.NewReader("denied")), Request: r}, nil
		})
		rt := newAuth(t, next, authCache(t, src))
		call := func() {
			t.Helper()
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("status %d, want the 401", resp.StatusCode)
			}
		}
		for range 50 {
			call()
		}
		// t1 rejected: t2 replaces it at once (a revoked token); t2
		// rejected too: t3, then t3 is kept for the backoff step.
		if n := src.n.Load(); n != 3 {
			t.Fatalf("%d token requests for 50 calls to a server rejecting every token, want 3", n)
		}
		if n := sends.Load(); n > 53 {
			t.Fatalf("%d sends for 50 calls, want at most 53 (no replay once the token is kept)", n)
		}
		// After the step (1 s by default, jittered below it), one more
		// token is tried, then kept for a longer step.
		time.Sleep(time.Second)
		for range 50 {
			call()
		}
		if n := src.n.Load(); n != 4 {
			t.Fatalf("%d token requests after the first step, want 4", n)
		}
	})
}
