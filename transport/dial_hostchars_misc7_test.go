package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyRefusesHostsNoNameHolds: Go's URL parser lets a host
// carry "%25" (decoded to "%"), sub-delimiters and non-ASCII bytes; such a
// host ("169.254.169.254%eth0") is no IP literal to GuardProxy, but no
// DNS name either, and what a proxy makes of it is its own business (a
// resolver that stops at the "%" reaches the metadata service). It is
// refused with an *EgressError before the proxy; IPv6 literals with a
// zone are still checked as addresses, and ordinary names (IDN, "_",
// trailing dots, upper case) still go to the proxy.
func TestGuardProxyRefusesHostsNoNameHolds(t *testing.T) {
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://proxy.corp:3128")
	guard := sd.GuardProxy(http.ProxyURL(pu))
	for _, u := range []string{
		"https://169.254.169.254%25eth0/latest/meta-data/",
		"http://10.0.0.1%25lo:80/",
		"https://api.example.com%25x/",
		"https://169.254.169.254&/",
		"https://169.254.169.254;x/",
		"https://a*b.example/",
		"https://a!b.example/",
		"https://[fe80::1%25eth0]/",
		"https://[::ffff:169.254.169.254]/",
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		got, err := guard(req)
		var ee *transport.EgressError
		var ae *transport.AddressError
		if got != nil || !errors.Is(err, transport.ErrEgressDenied) || !(errors.As(err, &ee) || errors.As(err, &ae)) {
			t.Errorf("%s: %v, %v; want a typed egress error before the proxy", u, got, err)
		}
	}
	for _, u := range []string{
		"https://api.example.com/",
		"https://API.Example.COM:8443/",
		"https://_svc.internal.example/",
		"https://bücher.example/",
		"https://xn--bcher-kva.example/",
		"https://api.example.com./",
		"https://8.8.8.8/",
		"https://[2001:4860:4860::8888]/",
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got, err := guard(req); got != pu || err != nil {
			t.Errorf("%s: %v, %v; want the proxy", u, got, err)
		}
	}
}
