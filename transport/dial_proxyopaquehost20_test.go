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

// TestGuardProxyChecksHostOfOpaqueRequest: with a hand-set URL.Opaque,
// net/http sends a proxied plain-http request with the Opaque as its
// request-target, and the Host field as it is. An origin-form Opaque
// ("/latest/meta-data/") names no authority, so the Host header is the only
// one the proxy is given, and a proxy that takes origin-form (routing by
// the Host header, as Envoy and an nginx forward proxy on $http_host do;
// Go's server reads it as the request's host too) connects it. GuardProxy
// skipped the Host of any request with an Opaque, so "http://api.example.test"
// with Opaque "/latest/meta-data/" and Host "169.254.169.254" reached the
// metadata service through the proxy. The Host is checked as for a request
// without Opaque; an allowed one still goes.
func TestGuardProxyChecksHostOfOpaqueRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host) // the host a proxy routing by Host connects
		mu.Unlock()
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{pu.Host}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: sd.DialContext, Proxy: sd.GuardProxy(http.ProxyURL(pu))}
	defer tr.CloseIdleConnections()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	for _, tc := range []struct{ opaque, host string }{
		{"/latest/meta-data/", "169.254.169.254"},
		{"/latest/meta-data/", "2852039166"},
		{"/", "10.0.0.1"},
		{"/", "localhost"},
		{"/", "api.example.test:6379"},
		{"//api.example.test/latest/", "169.254.169.254"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test", nil)
		req.URL.Opaque, req.Host = tc.opaque, tc.host
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Opaque %q, Host %q: err = %v, want ErrEgressDenied", tc.opaque, tc.host, err)
		}
	}
	if n := count(); n != 0 {
		mu.Lock()
		t.Fatalf("the proxy got %d requests for denied destinations (%q), want 0", n, seen)
	}
	for _, host := range []string{"", "api.example.test", "8.8.8.8"} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test", nil)
		req.URL.Opaque, req.Host = "/ok", host
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("Opaque /ok, Host %q: %v", host, err)
		}
		resp.Body.Close()
	}
	if n := count(); n != 3 {
		t.Fatalf("the proxy got %d requests for allowed destinations, want 3", n)
	}
}
