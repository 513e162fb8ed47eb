package client_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestProxyPlainHTTPHostPortChecked: through a proxy, a plain-http
// request goes out as "GET http://<Host>/path", and the proxy connects the
// Host's host and port, not the URL's. The egress allowlist checks a Host
// header's host only (without a proxy the connection goes to the URL's
// port), so a Host of "api.example.test:6379" reached port 6379 through
// the proxy, a port the dialer refuses. The Host of a proxied plain-http
// request is checked as its destination.
func TestProxyPlainHTTPHostPortChecked(t *testing.T) {
	pu, conns := countingProxy(t)
	c, err := client.New(
		client.WithOrigins("http://api.example.test"),
		client.WithProxy(http.ProxyURL(pu)),
		client.WithAllowedProxies(pu.Host),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, host := range []string{"api.example.test:6379", "api.example.test:22"} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Host = host
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, client.ErrEgressDenied) {
			t.Errorf("Host %q through the proxy: err = %v, want ErrEgressDenied", host, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("proxy got %d connections for denied destinations", n)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	req.Host = "api.example.test:80"
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if errors.Is(err, client.ErrEgressDenied) || conns.Load() == 0 {
		t.Fatalf("Host with the default port: err = %v, proxy connections %d; want it handed to the proxy", err, conns.Load())
	}
}
