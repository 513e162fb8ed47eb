package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestEgressOpaqueAbsoluteTarget: net/http writes a hand-set URL.Opaque
// as the request-target, and one starting with "//" (or with a scheme,
// "http://host/x") as an absolute-form target naming its own host. A
// server takes the host of an absolute-form target over the Host header
// (RFC 9112 §3.2.2; Go's own server does), and a forward proxy connects
// it. The egress check looked at URL.Host alone, so a URL of an allowed
// host with Opaque "//evil.example/x" reached evil.example: as the
// server's host, and through a proxy as the destination. Such a target
// naming a host not on the allowlist is refused, as a Host header naming
// one is; one naming an allowed host, and origin-form ("/x"), still go.
func TestEgressOpaqueAbsoluteTarget(t *testing.T) {
	var mu sync.Mutex
	var seen []string // r.Host of every request that reached a server
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host)
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
	cfg := transport.EgressConfig{Allow: []string{"http://" + su.Host, "http://allowed.example"}, AllowHTTP: true}

	for _, base := range []struct {
		name string
		rt   http.RoundTripper
		host string
	}{{"direct", direct, su.Host}, {"proxy", viaProxy, "allowed.example"}} {
		rt, err := transport.NewEgress(base.rt, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, opaque := range []string{
			"//evil.example/x",
			"http://evil.example/x",
			"HTTP://evil.example/x",
			"//" + su.Host + "@evil.example/x",
			"//evil.example:80/x",
		} {
			mu.Lock()
			seen = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodGet, "http://"+base.host, nil)
			req.URL.Opaque = opaque
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if !errors.Is(err, transport.ErrEgressDenied) || n != 0 {
				t.Errorf("%s: Opaque %q: err = %v, %d requests reached a server (saw %q), want ErrEgressDenied and none", base.name, opaque, err, n, seen)
			}
		}
		// An absolute-form target naming an allowed host, and origin-form.
		for _, opaque := range []string{"//" + base.host + "/ok", "http://" + base.host + "/ok", "/ok", "*"} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+base.host, nil)
			req.URL.Opaque = opaque
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("%s: Opaque %q: %v", base.name, opaque, err)
				continue
			}
			resp.Body.Close()
		}
	}
}
