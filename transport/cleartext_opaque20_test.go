package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestCleartextCredentialInOpaqueTargetRefused: net/http writes a
// hand-set URL.Opaque as the request-target, as it is, then "?" and
// URL.RawQuery. The cleartext check looked at URL.User and URL.RawQuery
// only, so over plain http a target "//user:pw@host/x" (an absolute-form
// target with userinfo) or "/x?api_key=k" (a credential query parameter in
// the Opaque) went on the wire in clear, past both the egress layer and
// the credential guard. Each is refused, nothing reaching the server; an
// Opaque without a credential still goes, and over https it all goes.
func TestCleartextCredentialInOpaqueTargetRefused(t *testing.T) {
	var mu sync.Mutex
	var seen []string // the request-target of every request that reached the server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	cfg := transport.EgressConfig{Allow: []string{"http://" + host}, AllowHTTP: true, CredentialQueryKeys: []string{"api_key"}}
	direct := &http.Transport{}
	defer direct.CloseIdleConnections()
	egress, err := transport.NewEgress(direct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := transport.NewCredentialGuard(direct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, opaque, rawQuery string
		denied                 bool
	}{
		{"userinfo in absolute-form target", "//user:pw@" + host + "/x", "", true},
		{"user alone in absolute-form target", "//user@" + host + "/x", "", true},
		{"userinfo in target with scheme", "http://user:pw@" + host + "/x", "", true},
		{"query key in origin-form opaque", "/x?api_key=k", "", true},
		{"query key spelled otherwise in opaque", "/x?page=1&API.KEY[]=k", "", true},
		{"query key in absolute-form opaque", "//" + host + "/x?api_key=k", "", true},
		{"query key in opaque before RawQuery", "/x?api_key=k", "page=1", true},
		{"opaque without credential", "/x?page=1", "", false},
		{"absolute-form without credential", "//" + host + "/x?page=1", "", false},
		{"@ in the path only", "/x/@user", "", false},
	} {
		for _, layer := range []struct {
			name string
			rt   http.RoundTripper
		}{{"egress", egress}, {"credential guard", guard}} {
			t.Run(tc.name+"/"+layer.name, func(t *testing.T) {
				mu.Lock()
				seen = nil
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.URL.Opaque, req.URL.RawQuery = tc.opaque, tc.rawQuery
				resp, err := layer.rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				mu.Lock()
				got := seen
				mu.Unlock()
				if !tc.denied {
					if err != nil || len(got) != 1 {
						t.Fatalf("err %v, server saw %q; want the request sent", err, got)
					}
					return
				}
				var ee *transport.EgressError
				if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) || !strings.Contains(err.Error(), "plain http") {
					t.Errorf("err = %v, want an *EgressError saying credentials are never sent over plain http", err)
				}
				if len(got) != 0 {
					t.Errorf("server saw %q: the credential went in clear", got)
				}
				if err != nil && (strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "=k")) {
					t.Errorf("error %q quotes the credential", err)
				}
			})
		}
	}
	// Over https the same request-targets are no cleartext: the egress
	// layer lets them through to next.
	for _, op := range []string{"//user:pw@api.example.com/x", "/x?api_key=k"} {
		p, _ := transport.NewEgressPolicy(transport.EgressConfig{CredentialQueryKeys: []string{"api_key"}})
		u, _ := url.Parse("https://api.example.com/")
		u.Opaque = op
		if err := p.Check(&http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{}}); err != nil {
			t.Errorf("https with opaque %q: %v, want allowed", op, err)
		}
	}
}
