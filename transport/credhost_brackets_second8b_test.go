package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestCredentialLayersRefuseBracketedNameHost: url.URL.Hostname strips
// the brackets of any "[...]" host, so a Host of "[api.example.com]:port"
// (or "[127.0.0.1]:port") was checked as api.example.com (127.0.0.1) and
// got the credentials. net/http sends such a Host as written; it is not a
// valid authority (brackets hold only an IPv6 literal, RFC 3986 §3.2.2),
// so a virtual-hosting front end does not route it to the named host but
// to its default one: another tenant. Only an IPv6 literal may be in
// brackets.
func TestCredentialLayersRefuseBracketedNameHost(t *testing.T) {
	rig := newCredHostRig(t, func(port string) []string {
		return []string{"http://api.example.com:" + port, "http://[::1]:" + port}
	})
	port, name := rig.port, rig.su.Hostname()
	for _, tc := range []struct {
		urlHost, host string
		cred          bool
	}{
		{"", "[::1]:" + port, true}, // an IPv6 literal: the one thing brackets may hold
		{"", "[api.example.com]:" + port, false},
		{"", "[api.example.com]", false},
		{"", "[" + name + "]:" + port, false},
		{"", "api.example.com]:" + port, false},
		// A hand-built URL.Host: net/http dials its Hostname, with the
		// brackets stripped, and sends it as the Host as written.
		{"[" + name + "]:" + port, "", false},
	} {
		g, ok := rig.send(t, tc.urlHost, tc.host)
		if !ok {
			continue // net/http refused the Host itself: nothing arrived
		}
		if tc.cred {
			if g.auth != "Bearer tok-1" || g.key != "key-1" || g.sig == "" {
				t.Errorf("URL host %q, Host %q: arrived as %q without all three credentials", tc.urlHost, tc.host, g.host)
			}
			continue
		}
		if g.auth != "" || g.key != "" || g.sig != "" {
			t.Errorf("URL host %q, Host %q: arrived as %q with Authorization %q, an API key: %v, Signature %q; want no credential", tc.urlHost, tc.host, g.host, g.auth, g.key != "", g.sig)
		}
	}
}

// TestEgressRefusesBracketedNameHost: the egress check of a Host that
// differs from the URL's stripped any brackets, so "[api.example.com]"
// passed as api.example.com although net/http sends it as written and a
// front end routes it to its default host.
func TestEgressRefusesBracketedNameHost(t *testing.T) {
	rt, err := transport.NewEgress(http.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})), transport.EgressConfig{Allow: []string{"api.example.com", "[2001:db8::1]"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, host string
		ok        bool
	}{
		{"https://api.example.com/", "[2001:db8::1]", true},
		{"https://api.example.com/", "[2001:db8::1]:443", true},
		{"https://api.example.com/", "[api.example.com]", false},
		{"https://api.example.com/", "[api.example.com]:443", false},
		{"https://[api.example.com]/", "", false}, // a hand-built URL.Host, sent as the Host
	} {
		req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
		if u, _ := url.Parse(tc.url); u == nil {
			req.URL.Host = "[api.example.com]"
		}
		req.Host = tc.host
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if tc.ok != (err == nil) {
			t.Errorf("Host %q: err = %v, want allowed %v", tc.host, err, tc.ok)
		}
		if !tc.ok && !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Host %q: err = %v, want ErrEgressDenied", tc.host, err)
		}
	}
}
