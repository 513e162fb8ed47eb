package transport_test

import "testing"

// TestGuardProxyRefusesHostsNoNameHolds: Go's URL parser lets a host
// carry "%25" (decoded to "%"), sub-delimiters and non-ASCII bytes; such a
// host ("169.254.169.254%eth0") is no IP literal to GuardProxy, but no
// DNS name either, and what a proxy makes of it is its own business (a
// resolver that stops at the "%" reaches the metadata service). It is
// refused with an *EgressError before the proxy; IPv6 literals with a
// zone are still checked as addresses, and ordinary names (IDN, "_",
// trailing dots, upper case) still go to the proxy.
func TestGuardProxyRefusesHostsNoNameHolds(t *testing.T) {
	guard, pu := newProxyGuard(t)
	wantRefusedBeforeProxy(t, guard,
		"https://169.254.169.254%25eth0/latest/meta-data/",
		"http://10.0.0.1%25lo:80/",
		"https://api.example.com%25x/",
		"https://169.254.169.254&/",
		"https://169.254.169.254;x/",
		"https://a*b.example/",
		"https://a!b.example/",
		"https://[fe80::1%25eth0]/",
		"https://[::ffff:169.254.169.254]/",
	)
	wantProxied(t, guard, pu,
		"https://api.example.com/",
		"https://API.Example.COM:443/",
		"https://_svc.internal.example/",
		"https://bücher.example/",
		"https://xn--bcher-kva.example/",
		"https://api.example.com./",
		"https://8.8.8.8/",
		"https://[2001:4860:4860::8888]/",
	)
}
