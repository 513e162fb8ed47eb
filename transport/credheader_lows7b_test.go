package transport_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// The layer that owns a credential header replaces every spelling of it:
// a caller's line under a non-canonical key (req.Header["authorization"],
// which net/http sends as written over HTTP/1.1 and lower-cased over
// HTTP/2) does not go out next to ours, with or without signing (the
// signer merges the spellings into one field, so both values were sent
// and signed). The server sees exactly one value, ours, and the caller's
// request keeps its lines.
func TestCredentialLayersReplaceEverySpelling(t *testing.T) {
	type layer struct {
		header, own, want string
		make              func(next http.RoundTripper, scope transport.Origins) (http.RoundTripper, error)
	}
	layers := map[string]layer{
		"auth": {"Authorization", "authorization", "Bearer ours", func(next http.RoundTripper, scope transport.Origins) (http.RoundTripper, error) {
			return transport.NewAuth(next, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("ours", "Bearer", time.Now().Add(time.Hour))), Scope: scope})
		}},
		"apikey": {"X-Api-Key", "x-api-key", "ours", func(next http.RoundTripper, scope transport.Origins) (http.RoundTripper, error) {
			return transport.NewAPIKey(next, transport.APIKeyConfig{Source: staticKey("ours"), Scope: scope})
		}},
	}
	for name, l := range layers {
		for _, h2 := range []bool{false, true} {
			for _, sign := range []bool{false, true} {
				v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t))})
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if sign {
						if _, err := v.Verify(r, time.Now()); err != nil {
							http.Error(w, err.Error(), http.StatusUnauthorized)
							return
						}
					}
					io.WriteString(w, strings.Join(r.Header[l.header], "|"))
				}))
				srv.EnableHTTP2 = h2
				srv.StartTLS()
				scope := mustOrigins(t, srv.URL)
				next := srv.Client().Transport
				if sign {
					s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Components: []signer.Component{signer.Method, signer.Authority, signer.Path, signer.Query, signer.Field(strings.ToLower(l.header))}})
					if err != nil {
						t.Fatal(err)
					}
					if next, err = transport.NewSign(next, transport.SignConfig{Signer: s, Scope: scope}); err != nil {
						t.Fatal(err)
					}
				}
				rt, err := l.make(next, scope)
				if err != nil {
					t.Fatal(err)
				}
				for _, spell := range []string{l.own, strings.ToUpper(l.header)} {
					req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header[spell] = []string{"theirs"}
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatalf("%s, %s, sign %v, %q: %v", name, protoName(h2), sign, spell, err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || string(body) != l.want {
						t.Errorf("%s, %s, sign %v, caller's %q: server saw %d %q, want one value %q", name, protoName(h2), sign, spell, resp.StatusCode, strings.TrimSpace(string(body)), l.want)
					}
					if !slices.Equal(req.Header[spell], []string{"theirs"}) || len(req.Header) != 1 {
						t.Errorf("%s: caller's header changed: %q", name, req.Header)
					}
				}
				srv.Close()
			}
		}
	}
}
