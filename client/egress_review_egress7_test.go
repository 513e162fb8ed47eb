package client_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
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
// proxy for it, as NO_PROXY or HTTPS_PROXY without HTTP_PROXY do, or the
// environment's NO_PROXY lists it), must not get that exemption: it
// would reach a private address (and the proxy's own pages) the caller
// never allowed as a destination.
func TestAllowedProxyIsNotADirectDestination(t *testing.T) {
	pu, conns := countingProxy(t)
	t.Setenv("HTTPS_PROXY", pu.String())
	t.Setenv("NO_PROXY", pu.Hostname())
	noProxyForItself := func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == pu.Hostname() {
			return nil, nil
		}
		return pu, nil
	}
	for name, o := range map[string][]client.Option{
		"no proxy for itself": {client.WithAllowedProxies(pu.Host), client.WithProxy(noProxyForItself)},
		// NO_PROXY=<the proxy's host> in the environment: the environment's
		// proxy function says no proxy for it.
		"environment, no proxy for itself": {client.WithAllowedProxies(pu.Host), client.WithEnvironmentProxy()},
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

// TestProxyIPLiteralDestinationsChecked: through a proxy the dialer only
// sees the proxy's address, and the proxy connects the destination. An
// IP-literal destination (in any form a proxy's resolver reads as an
// address) is checked against the dialer's rules before the request is
// handed to the proxy, so the cloud metadata service or a private address
// cannot be reached through it; names still go to the proxy, and allowed
// networks stay allowed.
func TestProxyIPLiteralDestinationsChecked(t *testing.T) {
	pu, conns := countingProxy(t)
	c, err := client.New(
		client.WithProxy(http.ProxyURL(pu)),
		client.WithAllowedProxies(pu.Host),
		client.WithAllowedNetworks(netip.MustParsePrefix("10.9.0.0/16")),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{
		"https://169.254.169.254/latest/meta-data/",
		"https://10.0.0.1/",
		"https://127.0.0.1/",
		"https://[::1]/",
		"https://[fd00:ec2::254]/",
		"https://[::ffff:169.254.169.254]/",
		"https://168.63.129.16/",
		"https://2852039166/", // 169.254.169.254
		"https://0xa9.0xfe.0xa9.0xfe/",
		"https://0251.0376.0251.0376/",
		"https://127.1/",
		"https://10.0.0.1./",
		"https://1.2.3.4.5/",    // not an address; no name either
		"https://8.8.8.8:8443/", // a port the dialer would refuse
	} {
		if err := proxyGet(t, c, u); !errors.Is(err, client.ErrEgressDenied) {
			t.Errorf("%s through the proxy: err = %v, want ErrEgressDenied", u, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("proxy got %d connections for denied destinations", n)
	}
	for _, u := range []string{"https://api.example.com/", "https://8.8.8.8/", "https://10.9.1.2/"} {
		before := conns.Load()
		if err := proxyGet(t, c, u); errors.Is(err, client.ErrEgressDenied) {
			t.Errorf("%s through the proxy: err = %v, want it handed to the proxy", u, err)
		}
		if conns.Load() == before {
			t.Errorf("%s: the proxy got no connection", u)
		}
	}
}
