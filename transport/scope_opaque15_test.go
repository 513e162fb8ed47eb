package transport_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestCredentialScopeOpaqueAbsoluteTarget: a hand-set URL.Opaque
// "//evil.example/x" (or "http://evil.example/x") on a URL of an origin
// in the Scope is sent as an absolute-form request-target, whose host a
// server reads over the Host header and a forward proxy connects. The
// credential layers asked their Scope about URL.Host and Host alone, so
// the token and the API key went to evil.example. Such a target must be
// in the Scope too; one naming the scope's own origin, and origin-form
// ("/x"), still get the credential.
func TestCredentialScopeOpaqueAbsoluteTarget(t *testing.T) {
	type seen struct{ host, auth, key string }
	var mu sync.Mutex
	var got []seen
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")})
		mu.Unlock()
	})
	srv := httptest.NewServer(record)
	defer srv.Close()
	proxy := httptest.NewServer(record) // a forward proxy: reads the absolute-form target
	defer proxy.Close()
	su, _ := url.Parse(srv.URL)
	pu, _ := url.Parse(proxy.URL)
	direct := &http.Transport{}
	defer direct.CloseIdleConnections()
	viaProxy := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer viaProxy.CloseIdleConnections()
	scope, err := transport.ParseOrigins("http://"+su.Host, "http://api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	src := tokens.Static(tokens.NewToken("tok-1", "Bearer", time.Time{}))
	for _, base := range []struct {
		name string
		rt   http.RoundTripper
		host string
	}{{"direct", direct, su.Host}, {"proxy", viaProxy, "api.example.test"}} {
		auth, err := transport.NewAuth(base.rt, transport.AuthConfig{Source: src, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		key, err := transport.NewAPIKey(base.rt, transport.APIKeyConfig{Source: staticKey("k-1"), Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		for _, layer := range []struct {
			name string
			rt   http.RoundTripper
		}{{"auth", auth}, {"api key", key}} {
			for _, tc := range []struct {
				opaque string
				cred   bool
			}{
				{"//evil.example/x", false},
				{"http://evil.example/x", false},
				{"//" + base.host + "@evil.example/x", false},
				{"//" + base.host + "/ok", true},
				{"/ok", true},
			} {
				mu.Lock()
				got = nil
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodGet, "http://"+base.host, nil)
				req.URL.Opaque = tc.opaque
				resp, err := layer.rt.RoundTrip(req)
				if err != nil {
					t.Errorf("%s %s: Opaque %q: %v", base.name, layer.name, tc.opaque, err)
					continue
				}
				resp.Body.Close()
				mu.Lock()
				g := got
				mu.Unlock()
				if len(g) != 1 {
					t.Errorf("%s %s: Opaque %q: %d requests reached a server, want 1", base.name, layer.name, tc.opaque, len(g))
					continue
				}
				if has := g[0].auth != "" || g[0].key != ""; has != tc.cred {
					t.Errorf("%s %s: Opaque %q: the server for host %q got a credential: %v, want %v", base.name, layer.name, tc.opaque, g[0].host, has, tc.cred)
				}
			}
		}
	}
}
