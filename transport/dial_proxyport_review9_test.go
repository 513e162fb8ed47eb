package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyChecksPortOfNamedDestination: the dialer's ports (80 and
// 443 unless configured) are the backstop for destinations nobody listed.
// Through a proxy the dialer sees only the proxy's port, and a name cannot
// be resolved here, but its port needs no resolving: without the check a
// named destination reached any port behind the proxy
// (https://redis.internal:6379/), which the same dialer refuses when it
// dials the name itself.
func TestGuardProxyChecksPortOfNamedDestination(t *testing.T) {
	guard, pu := newProxyGuard(t)
	wantRefusedBeforeProxy(t, guard,
		"https://redis.internal:6379/",
		"http://api.example.com:8080/",
		"https://api.example.com.:22/",
	)
	wantProxied(t, guard, pu, "https://api.example.com/", "http://api.example.com/", "https://api.example.com:443/")

	// Configured ports, or every port, are allowed through the proxy too.
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}, Ports: []uint16{8443}})
	if err != nil {
		t.Fatal(err)
	}
	g := sd.GuardProxy(http.ProxyURL(pu))
	wantProxied(t, g, pu, "https://api.example.com:8443/")
	wantRefusedBeforeProxy(t, g, "https://api.example.com/")
	sd, err = transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}, AnyPort: true})
	if err != nil {
		t.Fatal(err)
	}
	wantProxied(t, sd.GuardProxy(http.ProxyURL(pu)), pu, "https://api.example.com:6379/")
}
