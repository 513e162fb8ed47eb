package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestHostHeaderWithUserinfoRefused: a Host field set by hand with
// userinfo in it ("user:pass@host", no port) passed the egress layer
// without an allowlist: the Host check split it at its last colon, read
// the host "user" and, with every host allowed, let it go, so with
// AllowHTTP the password went out in clear in the Host header (and the
// credential guard, the last word on cleartext credentials, let it go
// too). No Host header holds userinfo (RFC 9110 7.2): both layers now
// refuse it with an *EgressError wrapping ErrEgressDenied that does not
// quote the userinfo; the server sees nothing.
func TestHostHeaderWithUserinfoRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	direct := &http.Transport{}
	defer direct.CloseIdleConnections()
	egress, err := transport.NewEgress(direct, transport.EgressConfig{AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := transport.NewCredentialGuard(direct, transport.EgressConfig{})
	if err != nil {
		t.Fatal(err)
	}
	layers := []struct {
		name string
		rt   http.RoundTripper
	}{{"egress", egress}, {"credential guard", guard}}
	for _, l := range layers {
		for _, host := range []string{"user:Secret9@127.0.0.1", "user:Secret9@api.example.test", "Secret9@api.example.test", "user:Secret9@[::1]"} {
			t.Run(l.name+"/"+host, func(t *testing.T) {
				hits.Store(0)
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
				req.Host = host
				resp, err := l.rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				var ee *transport.EgressError
				if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) {
					t.Fatalf("err = %v, want an *EgressError wrapping ErrEgressDenied", err)
				}
				if strings.Contains(strings.ToLower(err.Error()), "secret9") {
					t.Errorf("error %q quotes the userinfo", err)
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("the server got %d requests, want none", n)
				}
			})
		}
	}
	// An https request's Host with userinfo is no valid Host either.
	p, err := transport.NewEgressPolicy(transport.EgressConfig{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	req.Host = "user:Secret9@api.example.test"
	if err := p.Check(req); !errors.Is(err, transport.ErrEgressDenied) || strings.Contains(strings.ToLower(err.Error()), "secret9") {
		t.Errorf("Check(https, Host with userinfo) = %v, want a refusal quoting no userinfo", err)
	}
}
