package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// What the retry layer does when the token endpoint answers 200 with
// something that is not a usable token. An access token a bearer header
// cannot carry, or an expires_in out of range, is what the server issues
// for this client every time (its token format, its configuration):
// AuthError.Temporary is false and the call fails after one token request,
// not MaxAttempts of them. A body that is not a token response at all (an
// HTML page from a proxy or captive portal answering 200) may be gone on
// the next attempt: Temporary, retried up to MaxAttempts.
func TestAuthMalformedTokenAnswerRetries(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		sentinel          error
		temporary         bool
		fetches           int32
	}{
		{"token with a space", "application/json", `{"access_token":"a b","token_type":"Bearer","expires_in":3600}`, tokens.ErrMalformedToken, false, 1},
		{"token with CRLF", "application/json", `{"access_token":"a\r\nX-Evil: 1","token_type":"Bearer"}`, tokens.ErrMalformedToken, false, 1},
		{"negative expires_in", "application/json", `{"access_token":"at","token_type":"Bearer","expires_in":-5}`, tokens.ErrMalformedResponse, false, 1},
		{"expires_in not a number", "application/x-www-form-urlencoded", `access_token=at&token_type=Bearer&expires_in=soon`, tokens.ErrMalformedResponse, false, 1},
		{"proxy error page", "text/html", `<html><body>502 Bad Gateway</body></html>`, tokens.ErrMalformedResponse, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fetches atomic.Int32
			as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetches.Add(1)
				w.Header().Set("Content-Type", tc.ctype)
				w.Write([]byte(tc.body))
			}))
			defer as.Close()
			cc, err := tokens.NewClientCredentials(tokens.OAuth2Config{
				TokenURL: as.URL, ClientID: "c",
				Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s"))),
			})
			if err != nil {
				t.Fatal(err)
			}
			var sends atomic.Int32
			api := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sends.Add(1)
				return nil, errors.New("not reached")
			})
			rt, err := transport.NewRetry(newAuth(t, api, cc), transport.RetryConfig{
				MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if resp != nil {
				resp.Body.Close()
			}
			ae, ok := errors.AsType[*transport.AuthError](err)
			if !ok || !errors.Is(err, tc.sentinel) {
				t.Fatalf("err %v, want an *AuthError matching %v", err, tc.sentinel)
			}
			if ae.Temporary() != tc.temporary {
				t.Errorf("Temporary() = %v, want %v", ae.Temporary(), tc.temporary)
			}
			if n := fetches.Load(); n != tc.fetches {
				t.Errorf("%d token requests for one call (MaxAttempts 3), want %d", n, tc.fetches)
			}
			if n := sends.Load(); n != 0 {
				t.Errorf("%d requests sent to the API without a token", n)
			}
		})
	}
}
