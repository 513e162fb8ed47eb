package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// newProxyGuard returns the GuardProxy of a SafeDialer that lists the
// proxy proxy.corp:3128, over a proxy function sending every request
// there, and that proxy's URL.
func newProxyGuard(t *testing.T) (func(*http.Request) (*url.URL, error), *url.URL) {
	t.Helper()
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://proxy.corp:3128")
	return sd.GuardProxy(http.ProxyURL(pu)), pu
}

// wantRefusedBeforeProxy checks that guard refuses a request to each of
// urls with a typed egress error, handing it to no proxy.
func wantRefusedBeforeProxy(t *testing.T, guard func(*http.Request) (*url.URL, error), urls ...string) {
	t.Helper()
	for _, u := range urls {
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
}

// wantProxied checks that guard hands a request to each of urls to the
// proxy pu.
func wantProxied(t *testing.T, guard func(*http.Request) (*url.URL, error), pu *url.URL, urls ...string) {
	t.Helper()
	for _, u := range urls {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got, err := guard(req); got != pu || err != nil {
			t.Errorf("%s: %v, %v; want the proxy", u, got, err)
		}
	}
}

// TestGuardProxyTrailingDotsIPLiteral: a proxy reads a host with trailing
// dots as the host without them (Squid strips every trailing dot before it
// tells an address from a name, and a resolver ignores the root label), so
// "169.254.169.254.." is the metadata service through the proxy. The
// Origin strips one dot only; GuardProxy must check the address anyway.
func TestGuardProxyTrailingDotsIPLiteral(t *testing.T) {
	guard, pu := newProxyGuard(t)
	wantRefusedBeforeProxy(t, guard,
		"https://169.254.169.254../latest/meta-data/",
		"http://169.254.169.254.../",
		"https://2852039166../",
		"https://0xa9.0xfe.0xa9.0xfe../",
		"https://10.0.0.1..:443/",
	)
	// Names with trailing dots still go to the proxy.
	wantProxied(t, guard, pu, "https://api.example.com../")
}
