package client_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// countingProxy starts a plain-http server on loopback standing in for a
// forward proxy, and counts the TCP connections it accepts.
func countingProxy(t *testing.T) (*url.URL, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = quietLog()
	srv.Start()
	t.Cleanup(srv.Close)
	pu, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return pu, &conns
}

func proxyGet(t *testing.T, c *client.Client, u string) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	return err
}

// TestAllowedProxyIsNotADirectDestination: the SSRF-safe dialer dials a
// listed proxy without the address check. A request whose destination is
// the proxy's own host:port, sent directly (the proxy function says no
// proxy for it, as NO_PROXY or HTTPS_PROXY without HTTP_PROXY do, or no
// proxy function is configured at all), must not get that exemption: it
// would reach a private address (and the proxy's own pages) the caller
// never allowed as a destination.
func TestAllowedProxyIsNotADirectDestination(t *testing.T) {
	pu, conns := countingProxy(t)
	noProxyForItself := func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == pu.Hostname() {
			return nil, nil
		}
		return pu, nil
	}
	for name, o := range map[string][]client.Option{
		"no proxy for itself": {client.WithAllowedProxies(pu.Host), client.WithProxy(noProxyForItself)},
		"no proxy function":   {client.WithAllowedProxies(pu.Host)},
	} {
		c, err := client.New(o...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, u := range []string{"https://" + pu.Host + "/"} {
			if err := proxyGet(t, c, u); !errors.Is(err, client.ErrEgressDenied) {
				t.Errorf("%s: direct request to the proxy's address %s: err = %v, want ErrEgressDenied", name, u, err)
			}
		}
		c.Close()
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("proxy address got %d direct connections", n)
	}
}
