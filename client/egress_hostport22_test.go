package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// Through a forward proxy, net/http sends a plain-http request as the
// request-target "http://" + Host + path, and the proxy connects the
// Host's host and port. The egress check took a Host naming an allowed
// host with any port ("api.example.test:6379" with only
// "http://api.example.test" allowed: port 80), leaving its port to the
// dialer's proxy guard, which checks it against the dialer's ports; an
// allowlist entry for another host with every port ("dev.example.test:*")
// makes those every port, so the proxy was sent to api.example.test:6379.
// A plain-http request's Host is now checked with its port (the URL's
// scheme's default when it has none); an https request's Host port is not
// (its CONNECT goes to URL.Host).
func TestEgressPlainHTTPHostPortThroughProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host) // what a forward proxy connects
		mu.Unlock()
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	c, err := client.New(
		client.WithOrigins("http://api.example.test"),
		client.WithEgressAllowlist("dev.example.test:*"),
		client.WithProxy(http.ProxyURL(pu)),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	do := func(host string) error {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/v1", nil)
		req.Host = host
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for _, host := range []string{"api.example.test:6379", "api.example.test:8080", "api.example.test:443"} {
		if err := do(host); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Host %q: err %v, want ErrEgressDenied", host, err)
		}
	}
	mu.Lock()
	if len(seen) != 0 {
		t.Errorf("the proxy was asked for %q, want nothing", seen)
	}
	mu.Unlock()
	for _, host := range []string{"", "api.example.test", "api.example.test:80", "api.example.test:080"} {
		if err := do(host); err != nil {
			t.Errorf("Host %q: %v", host, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Errorf("the proxy got %q, want the 4 allowed calls", seen)
	}
}
