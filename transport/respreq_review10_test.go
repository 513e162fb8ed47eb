package transport_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestAttemptLayersShowTheCallersRequest: a hand-built stack, with an
// attempt scope or a retry layer, hands back a response whose Request
// is the caller's view of the attempt (its header and URL), not the
// attempt's request with the bearer token the auth layer added; the base
// transport got the token, and resp.Request still carries the attempt.
func TestAttemptLayersShowTheCallersRequest(t *testing.T) {
	const canary = "CANARY-respreq-transport"
	for _, name := range []string{"scope", "retry"} {
		var sent string
		base := http.RoundTripper(roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent = r.Header.Get("Authorization")
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}))
		rt, err := transport.NewAuth(base, transport.AuthConfig{
			Source: tokens.Static(tokens.NewToken(canary, "Bearer", time.Time{})),
			Scope:  apiOrigins,
		})
		if err != nil {
			t.Fatal(err)
		}
		if name == "scope" {
			rt = transport.NewAttemptScope(rt)
		} else if rt, err = transport.NewRetry(rt, transport.RetryConfig{}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/x?a=1", nil)
		req.Header.Set("X-Caller", "mine")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if sent != "Bearer "+canary {
			t.Fatalf("%s: the base got Authorization %q", name, sent)
		}
		if v := resp.Request.Header.Get("Authorization"); v != "" {
			t.Errorf("%s: resp.Request carries the attempt's Authorization %q", name, v)
		}
		if resp.Request.Header.Get("X-Caller") != "mine" || resp.Request.URL.String() != req.URL.String() {
			t.Errorf("%s: resp.Request is not the caller's view: %v %s", name, resp.Request.Header, resp.Request.URL)
		}
		if n := transport.Attempts(resp); n != 1 {
			t.Errorf("%s: Attempts(resp) = %d, want 1 (the attempt's context)", name, n)
		}
	}
}
