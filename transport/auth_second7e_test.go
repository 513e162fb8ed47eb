package transport_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
)

// A token endpoint that hands back the same still-valid token for its
// lifetime (an IdP-side client_credentials cache, a metadata service) and
// one resource that answers 401 to it (a route with a fault, a passing
// glitch) must not stop the requests that the server accepts: they share
// the Cache, and the token is fine for them.
func TestAuthOneRejectingResourceDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		same := tokens.NewToken("same", "Bearer", time.Now().Add(time.Hour))
		src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			fetches.Add(1)
			return same, nil
		})
		var sends atomic.Int32
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sends.Add(1)
			if r.Header.Get("Authorization") != "Bearer same" {
				t.Errorf("sent with Authorization %q", r.Header.Get("Authorization"))
			}
			code, h := 200, http.Header{}
			if strings.HasPrefix(r.URL.Path, "/broken") {
				code = 401
				h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
		})
		rt := newAuth(t, next, authCache(t, src))
		for i := range 20 {
			for _, path := range []string{"/broken", "/ok"} {
				resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test"+path, ""))
				if err != nil {
					t.Fatalf("call %d to %s: %v", i, path, err)
				}
				resp.Body.Close()
				if want := map[string]int{"/broken": 401, "/ok": 200}[path]; resp.StatusCode != want {
					t.Fatalf("call %d to %s: %d, want %d", i, path, resp.StatusCode, want)
				}
			}
		}
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d token requests, want 2 (first token, one refresh after the first 401)", n)
		}
		if n := sends.Load(); n != 40 {
			t.Fatalf("%d sends, want 40", n)
		}
	})
}
