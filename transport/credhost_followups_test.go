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
	rig := newCredHostRig(t, func(port string) []string { return []string{"http://api.example.com:" + port} })
	port := rig.port
	for _, tc := range []struct {
		host string
		cred bool
	}{
		{"", true},
		{rig.su.Host, true},
		{"api.example.com:" + port, true},
		{"API.Example.COM.:" + port, true},
		{"tenant-b.example.com:" + port, false},
		{"api.example.com", false},     // port 80: another origin
		{"api.example.com:443", false}, // another origin
		{"api.example.com:" + port + "/x", false},
		{"user@api.example.com:" + port, false},
	} {
		g, ok := rig.send(t, "", tc.host)
		if !ok {
			continue // net/http refuses some Host values itself: nothing arrived
		}
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

// credSeen is what a request brought to the rig's server.
type credSeen struct{ host, auth, key, sig string }

// credHostRig is a server that records each request's Host and
// credentials, behind the three credential layers (bearer, API key,
// HMAC signing) sharing one Scope: the server's origin and the origins
// extra gives for its port.
type credHostRig struct {
	su   *url.URL
	port string
	rt   http.RoundTripper
	mu   sync.Mutex
	got  credSeen
}

func newCredHostRig(t *testing.T, extra func(port string) []string) *credHostRig {
	t.Helper()
	rig := &credHostRig{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rig.mu.Lock()
		rig.got = credSeen{r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("Signature")}
		rig.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rig.su, _ = url.Parse(srv.URL)
	rig.port = rig.su.Port()
	scope := mustOrigins(t, append([]string{srv.URL}, extra(rig.port)...)...)

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
	rig.rt = rt
	return rig
}

// send makes a GET to the server with the URL host urlHost (the
// server's when empty) and the Host host, and returns what arrived;
// false when nothing did (net/http refuses some Host values itself).
func (rig *credHostRig) send(t *testing.T, urlHost, host string) (credSeen, bool) {
	t.Helper()
	req, err := http.NewRequest("GET", rig.su.String()+"/v1/things", nil)
	if err != nil {
		t.Fatal(err)
	}
	if urlHost != "" {
		req.URL.Host = urlHost
	}
	req.Host = host
	rig.mu.Lock()
	rig.got = credSeen{host: "(nothing arrived)"}
	rig.mu.Unlock()
	resp, err := rig.rt.RoundTrip(req)
	if err != nil {
		return credSeen{}, false
	}
	resp.Body.Close()
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return rig.got, true
}
