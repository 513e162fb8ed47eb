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

// A token endpoint's 200 answer that is a token response (a JSON object)
// with a member of the wrong kind, or without an access_token, is what the
// endpoint issues to this client every time: through tokens.FromOAuth2 (a
// real x/oauth2 TokenSource, which refuses the answer itself) as through
// tokens.ClientCredentials, the AuthError is not Temporary and a call costs
// one token request, not one per attempt. A body that is not a token
// response at all (a proxy's HTML page), a 5xx and a connection closed
// mid-request stay Temporary and are retried.
func TestAuthFromOAuth2MalformedAnswerIsPermanent(t *testing.T) {
	const attempts = 3
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		hangup            bool
		sentinel          error
		temporary         bool
	}{
		{name: "expires_in a word", ctype: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":"soon"}`, sentinel: tokens.ErrMalformedResponse},
		{name: "expires_in a bool", ctype: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":true}`, sentinel: tokens.ErrMalformedResponse},
		{name: "expires_in an object", ctype: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":{"s":1}}`, sentinel: tokens.ErrMalformedResponse},
		{name: "token_type a number", ctype: "application/json", body: `{"access_token":"at","token_type":5,"expires_in":3600}`, sentinel: tokens.ErrMalformedResponse},
		{name: "access_token a number", ctype: "application/json", body: `{"access_token":12345,"token_type":"Bearer"}`, sentinel: tokens.ErrMalformedResponse},
		{name: "refresh_token an array", ctype: "application/json", body: `{"access_token":"at","token_type":"Bearer","refresh_token":["r"]}`, sentinel: tokens.ErrMalformedResponse},
		{name: "no access_token", ctype: "application/json", body: `{"token_type":"Bearer","expires_in":3600}`, sentinel: tokens.ErrMalformedResponse},
		{name: "empty object", ctype: "application/json", body: `{}`, sentinel: tokens.ErrMalformedResponse},
		{name: "form without access_token", ctype: "application/x-www-form-urlencoded", body: `token_type=Bearer&expires_in=3600`, sentinel: tokens.ErrMalformedResponse},
		// Still Temporary: not a token response at all, or not an answer.
		{name: "proxy error page", ctype: "text/html", body: `<html><body>502 Bad Gateway</body></html>`, sentinel: tokens.ErrMalformedResponse, temporary: true},
		{name: "JSON string", ctype: "application/json", body: `"maintenance"`, sentinel: tokens.ErrMalformedResponse, temporary: true},
		{name: "503", ctype: "text/plain", body: `busy`, status: 503, temporary: true},
		{name: "connection closed", hangup: true, temporary: true},
	} {
		for _, via := range []string{"FromOAuth2", "ClientCredentials"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				var fetches atomic.Int32
				as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fetches.Add(1)
					if tc.hangup {
						c, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							c.Close()
						}
						return
					}
					w.Header().Set("Content-Type", tc.ctype)
					if tc.status != 0 {
						w.WriteHeader(tc.status)
					}
					w.Write([]byte(tc.body))
				}))
				defer as.Close()
				var src tokens.Source
				if via == "FromOAuth2" {
					// One request per token fetch (AuthStyleAutoDetect would try
					// a second style after a failure).
					conf := oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: as.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
					ctx := context.WithValue(context.Background(), oauth2.HTTPClient, as.Client())
					src = tokens.FromOAuth2(conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "rt"}))
				} else {
					cc, err := tokens.NewClientCredentials(tokens.OAuth2Config{
						TokenURL: as.URL, ClientID: "c",
						Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s"))),
					})
					if err != nil {
						t.Fatal(err)
					}
					src = cc
				}
				var sends atomic.Int32
				api := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sends.Add(1)
					return nil, errors.New("not reached")
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
				ae, ok := errors.AsType[*transport.AuthError](err)
				if !ok || (tc.sentinel != nil && !errors.Is(err, tc.sentinel)) {
					t.Fatalf("err %v, want an *AuthError matching %v", err, tc.sentinel)
				}
				if !errors.Is(err, tokens.ErrNoToken) && tc.sentinel != nil {
					t.Errorf("err %v no longer matches ErrNoToken", err)
				}
				if ae.Temporary() != tc.temporary {
					t.Errorf("Temporary() = %v, want %v (err %v)", ae.Temporary(), tc.temporary, err)
				}
				want := int32(1)
				if tc.temporary {
					want = attempts
				}
				if n := fetches.Load(); n != want {
					t.Errorf("%d token requests for one call (MaxAttempts %d), want %d", n, attempts, want)
				}
				if n := sends.Load(); n != 0 {
					t.Errorf("%d requests sent to the API without a token", n)
				}
			})
		}
	}
}
