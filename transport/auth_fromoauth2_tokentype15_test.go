package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// RFC 6749 §7.1: a client must not use an access token whose type it does
// not understand. ClientCredentials and Refresher refuse every token_type
// but Bearer; a token from a real x/oauth2 TokenSource adapted with
// tokens.FromOAuth2 is refused the same way (ErrUnsupportedTokenType,
// ErrNoToken, not Temporary: one token request, nothing sent to the API)
// instead of going out as "DPoP at" (a DPoP-bound token without its
// proof), "MAC at" or "Bearer x at". A Bearer token in any case, or one
// without token_type, is still sent as "Bearer at".
func TestAuthFromOAuth2RefusesNonBearerTokenType(t *testing.T) {
	const attempts = 3
	for _, tc := range []struct {
		typ    string // "-": no token_type member
		bearer bool
	}{
		{typ: "DPoP"}, {typ: "mac"}, {typ: "Basic"}, {typ: "N_A"}, {typ: "Bearer x"},
		{typ: "Bearer", bearer: true}, {typ: "bearer", bearer: true}, {typ: "-", bearer: true},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			var fetches atomic.Int32
			as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetches.Add(1)
				w.Header().Set("Content-Type", "application/json")
				if tc.typ == "-" {
					w.Write([]byte(`{"access_token":"at","expires_in":3600}`))
					return
				}
				w.Write([]byte(`{"access_token":"at","token_type":"` + tc.typ + `","expires_in":3600}`))
			}))
			defer as.Close()
			conf := oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: as.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, as.Client())
			src := tokens.FromOAuth2(conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "rt"}))
			var sends atomic.Int32
			var sent atomic.Value
			api := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sends.Add(1)
				sent.Store(r.Header.Get("Authorization"))
				return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			})
			rt, err := transport.NewRetry(newAuth(t, api, src), transport.RetryConfig{
				MaxAttempts: attempts, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if resp != nil {
				resp.Body.Close()
			}
			if tc.bearer {
				if err != nil || sends.Load() != 1 || sent.Load() != "Bearer at" {
					t.Fatalf("err %v, %d sends, Authorization %q; want one send with \"Bearer at\"", err, sends.Load(), sent.Load())
				}
				return
			}
			ae, ok := errors.AsType[*transport.AuthError](err)
			if !ok || !errors.Is(err, tokens.ErrUnsupportedTokenType) || !errors.Is(err, tokens.ErrNoToken) {
				t.Fatalf("err %v, want an *AuthError matching ErrUnsupportedTokenType and ErrNoToken", err)
			}
			if ae.Temporary() {
				t.Errorf("Temporary() = true for %v", err)
			}
			if n := sends.Load(); n != 0 {
				t.Errorf("%d requests sent to the API with a %q token (Authorization %q), want 0", n, tc.typ, sent.Load())
			}
			if n := fetches.Load(); n != 1 {
				t.Errorf("%d token requests for one call (MaxAttempts %d), want 1", n, attempts)
			}
		})
	}
}
