package transport_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestCredentialLayersCheckHostHeader: the credential layers checked only
// req.URL against their Scope. A request to an in-scope URL whose Host names
// another virtual host (another tenant behind the same front end, or a host
// outside the scope) got the token, the API key and the signature, and a
// virtual-hosting front end routes it by Host to that other tenant. The
// credential must go only when the Host is in scope too, compared as an
// origin with the URL's scheme (case, one trailing dot and the default port
// normalised, as Scope does for URLs).
func TestCredentialLayersCheckHostHeader(t *testing.T) {
	type seen struct{ host, auth, key, sig string }
	var (
		mu  sync.Mutex
		got seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = seen{r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("Signature")}
		mu.Unlock()
	}))
	defer srv.Close()
	su, _ := url.Parse(srv.URL)
	port := su.Port()
	scope := mustOrigins(t, srv.URL, "http://api.example.com:"+port)

	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	var rt http.RoundTripper = srv.Client().Transport
	if rt, err = transport.NewSign(rt, transport.SignConfig{Signer: s, Scope: scope}); err != nil {
		t.Fatal(err)
	}
	if rt, err = transport.NewAPIKey(rt, transport.APIKeyConfig{Source: tokens.Static(tokens.NewToken("key-1", "", time.Time{})), Scope: scope}); err != nil {
		t.Fatal(err)
	}
	if rt, err = transport.NewAuth(rt, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("tok-1", "Bearer", time.Time{})), Scope: scope}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		host string
		cred bool
	}{
		{"", true},
		{su.Host, true},
		{"api.example.com:" + port, true},
		{"API.Example.COM.:" + port, true},
		{"tenant-b.example.com:" + port, false},
		{"api.example.com", false},     // port 80: another origin
		{"api.example.com:443", false}, // another origin
		{"api.example.com:" + port + "/x", false},
		{"user@api.example.com:" + port, false},
	} {
		req, err := http.NewRequest("GET", srv.URL+"/v1/things", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		mu.Lock()
		got = seen{host: "(nothing arrived)"}
		mu.Unlock()
		resp, err := rt.RoundTrip(req)
		if err != nil {
			// net/http refuses some Host values itself: nothing arrived.
			continue
		}
		resp.Body.Close()
		mu.Lock()
		g := got
		mu.Unlock()
		if tc.cred {
			if g.auth != "Bearer tok-1" || g.key != "key-1" || g.sig == "" {
				t.Errorf("Host %q: arrived as %q with Authorization %q, X-Api-Key %q, Signature %q; want all three credentials", tc.host, g.host, g.auth, g.key, g.sig)
			}
			continue
		}
		if g.auth != "" || g.key != "" || g.sig != "" {
			t.Errorf("Host %q (out of scope): arrived as %q with Authorization %q, X-Api-Key %q, Signature %q; want none", tc.host, g.host, g.auth, strings.Repeat("*", len(g.key)), g.sig)
		}
	}
}
