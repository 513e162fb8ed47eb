package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyTrailingDotsIPLiteral: a proxy reads a host with trailing
// dots as the host without them (Squid strips every trailing dot before it
// tells an address from a name, and a resolver ignores the root label), so
// "169.254.169.254.." is the metadata service through the proxy. The
// Origin strips one dot only; GuardProxy must check the address anyway.
func TestGuardProxyTrailingDotsIPLiteral(t *testing.T) {
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://proxy.corp:3128")
	guard := sd.GuardProxy(http.ProxyURL(pu))
	for _, u := range []string{
		"https://169.254.169.254../latest/meta-data/",
		"http://169.254.169.254.../",
		"https://2852039166../",
		"https://0xa9.0xfe.0xa9.0xfe../",
		"https://10.0.0.1..:443/",
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got, err := guard(req); got != nil || !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("%s: %v, %v; want ErrEgressDenied before the proxy", u, got, err)
		}
	}
	// Names with trailing dots still go to the proxy.
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com../", nil)
	if got, err := guard(req); got != pu || err != nil {
		t.Errorf("api.example.com..: %v, %v; want the proxy", got, err)
	}
}
