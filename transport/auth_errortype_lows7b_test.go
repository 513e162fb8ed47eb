package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// A request that could not get a token is reported with error.type
// "credential_unavailable" on its spans and duration histogram, not with
// the token endpoint's network failure ("connection_refused"), which, next
// to the API host's server.address, would blame the API host. A caller's
// cancellation while the token is fetched stays "canceled".
func TestAuthErrorTypeIsCredentialUnavailable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // connections to it are refused
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, dead.URL+"/token", nil)
		if err != nil {
			return tokens.Token{}, err
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return tokens.Token{}, fmt.Errorf("token endpoint: %w", err)
		}
		resp.Body.Close()
		return tokens.Token{}, errors.New("unexpected answer")
	})
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, nil)
		if twoLevel {
			rig.twoLevel()
		}
		auth, err := transport.NewAuth(transport.NewAttemptTrace(http.DefaultTransport, rig.cfg), transport.AuthConfig{Source: src, Scope: apiOrigins})
		if err != nil {
			t.Fatal(err)
		}
		rt := transport.NewCallTrace(transport.NewAttemptScope(auth), rig.cfg)
		resp, err := rt.RoundTrip(authReq(t, http.MethodGet, "https://api.example.test/x", ""))
		if err == nil {
			resp.Body.Close()
			t.Fatal("sent without a token")
		}
		if _, ok := errors.AsType[*transport.AuthError](err); !ok {
			t.Fatalf("err %v, want an *AuthError", err)
		}
		if got := transport.ErrorType(err); got != transport.ErrorTypeCredentialUnavailable {
			t.Errorf("twoLevel=%v: ErrorType %q, want %q", twoLevel, got, transport.ErrorTypeCredentialUnavailable)
		}
		spans := rig.ended()
		if len(spans) == 0 {
			t.Fatal("no span")
		}
		for _, s := range spans {
			wantAttr(t, s, "error.type", transport.ErrorTypeCredentialUnavailable)
		}
		h := findHistogram(t, rig.metrics(t), transport.MetricRequestDuration)
		if len(h.DataPoints) == 0 {
			t.Fatal("no duration recorded")
		}
		for _, p := range h.DataPoints {
			if v, _ := p.Attributes.Value("error.type"); v.AsString() != transport.ErrorTypeCredentialUnavailable {
				t.Errorf("twoLevel=%v: duration error.type %q, want %q", twoLevel, v.AsString(), transport.ErrorTypeCredentialUnavailable)
			}
		}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&transport.AuthError{Layer: "apikey", Err: errors.New("store locked")}, transport.ErrorTypeCredentialUnavailable},
		{&transport.AuthError{Layer: "auth", Err: fmt.Errorf("fetch: %w", context.DeadlineExceeded)}, transport.ErrorTypeCredentialUnavailable},
		{&transport.AuthError{Layer: "auth", Err: fmt.Errorf("fetch: %w", context.Canceled)}, transport.ErrorTypeCanceled},
		{&transport.RetryError{Attempts: 2, Last: &transport.AuthError{Layer: "auth", Err: errors.New("x")}}, transport.ErrorTypeCredentialUnavailable},
	} {
		if got := transport.ErrorType(tc.err); got != tc.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
