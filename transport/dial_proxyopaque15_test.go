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

// TestGuardProxyChecksOpaqueTarget: through a proxy, net/http sends a
// plain-http request's hand-set URL.Opaque as the request-target ("//x"
// prefixed with the scheme), and the proxy connects the host that target
// names, not URL.Host. GuardProxy checked URL.Host alone, so
// "http://api.example.test" with Opaque "//169.254.169.254/latest/"
// reached the metadata service through the proxy. The target's
// destination is checked as URL.Host's is.
func TestGuardProxyChecksOpaqueTarget(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host) // the host a forward proxy connects
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
	for _, opaque := range []string{
		"//169.254.169.254/latest/meta-data/",
		"http://169.254.169.254/latest/meta-data/",
		"//10.0.0.1/",
		"//2852039166/", // 169.254.169.254
		"//api.example.test:6379/",
		"//localhost/",
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test", nil)
		req.URL.Opaque = opaque
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Opaque %q: err = %v, want ErrEgressDenied", opaque, err)
		}
	}
	mu.Lock()
	n := len(seen)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("the proxy got %d requests for denied destinations (%q), want 0", n, seen)
	}
	for _, opaque := range []string{"//api.example.test/ok", "/ok"} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test", nil)
		req.URL.Opaque = opaque
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("Opaque %q: %v", opaque, err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	n = len(seen)
	mu.Unlock()
	if n != 2 {
		t.Fatalf("the proxy got %d requests for allowed destinations, want 2", n)
	}
}
