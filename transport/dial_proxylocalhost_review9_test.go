package transport_test

import "testing"

// TestGuardProxyRefusesLocalhostNames: a name is resolved by the proxy and
// cannot be checked here, except "localhost" and the names below it,
// which always resolve to loopback (RFC 6761 section 6.3). Through a proxy
// they reach the proxy's own host (its admin pages, a sidecar on its
// loopback), which the dialer would refuse for the client's own loopback.
func TestGuardProxyRefusesLocalhostNames(t *testing.T) {
	guard, pu := newProxyGuard(t)
	wantRefusedBeforeProxy(t, guard,
		"https://localhost/",
		"http://LOCALHOST./",
		"https://localhost../",
		"https://admin.localhost/",
		"https://a.b.Localhost./",
	)
	wantProxied(t, guard, pu, "https://localhost.example.com/", "https://mylocalhost/", "https://localhostx/")
}
