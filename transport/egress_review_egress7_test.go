package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// credGuardQuery sends GET http://localhost:8080/x?q through a credential
// guard whose credential query key is key and reports whether it was refused.
func credGuardQuery(t *testing.T, key, q string) bool {
	t.Helper()
	next := transporttest.NewResponder()
	g, err := transport.NewCredentialGuard(next, transport.EgressConfig{CredentialQueryKeys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "http://localhost:8080/x?"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := g.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	denied := errors.Is(err, transport.ErrEgressDenied)
	if denied != (next.Calls() == 0) {
		t.Fatalf("query %q: err = %v with %d calls", q, err, next.Calls())
	}
	return denied
}

// TestCredentialGuardQueryKeyAsServersReadIt: servers do not read query
// parameter names byte for byte. PHP turns "." and " " in a name into "_",
// skips leading spaces, reads "k[]" and "k[x]" as the array k and an
// unclosed "[" as "_"; Rack, Express (qs) and others read "k[]" as k too;
// ASP.NET compares names without case. A credential query key spelled so
// that one of them reads it as the key must be kept off plain http, while
// unrelated names still go out.
func TestCredentialGuardQueryKeyAsServersReadIt(t *testing.T) {
	for _, q := range []string{
		"api_key[]=SECRET",
		"api_key[0]=SECRET",
		"api_key%5B%5D=SECRET",
		"Api_Key=SECRET",
		"API_KEY=SECRET",
		"api%5Fkey=SECRET",
		"api%5fKEY=SECRET",
		"api.key=SECRET",
		"api+key=SECRET",
		"api%20key=SECRET",
		"api[key=SECRET",
		"%20api_key=SECRET",
		"v=1&API.Key[]=SECRET",
	} {
		if !credGuardQuery(t, "api_key", q) {
			t.Errorf("query %q went out over plain http, want a cleartext-credential denial", q)
		}
	}
	for _, q := range []string{
		"apikey=x",
		"api_key_id=x",
		"my_api_key=x",
		"api=x&key=y",
		"x=api_key",
		"api_keys[]=x",
	} {
		if credGuardQuery(t, "api_key", q) {
			t.Errorf("query %q was refused, want it sent", q)
		}
	}
	// A configured key with a bracket is compared whole.
	if !credGuardQuery(t, "auth[token]", "AUTH[token]=SECRET") {
		t.Error("AUTH[token] went out, want refused")
	}
	if credGuardQuery(t, "auth[token]", "auth[other]=x") {
		t.Error("auth[other] was refused for the key auth[token], want it sent")
	}
}

// TestSafeDialerGuardProxyRefusesDirectProxyAddress: the dialer dials a
// listed proxy without the address check and cannot tell a connection to
// the proxy from a direct one to the same host:port. GuardProxy refuses a
// request that would go directly to a listed proxy's address, however its
// host is spelled (case, trailing dot, IPv6 form), and leaves every other
// request to the proxy function.
func TestSafeDialerGuardProxyRefusesDirectProxyAddress(t *testing.T) {
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"Proxy.Corp.:3128", "[0:0::1]:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse("http://proxy.corp:3128")
	direct := sd.GuardProxy(nil)
	viaProxy := sd.GuardProxy(http.ProxyURL(pu))
	for _, u := range []string{"http://proxy.corp:3128/", "https://PROXY.corp.:3128/x", "http://[::1]:8080/", "http://[0::1]:8080/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		got, err := direct(req)
		var ee *transport.EgressError
		if got != nil || !errors.Is(err, transport.ErrEgressDenied) || !errors.As(err, &ee) {
			t.Errorf("direct %s: %v, %v; want an *EgressError", u, got, err)
		}
		// Through the proxy, the loopback literal is checked before the
		// proxy like any IP-literal destination, and a name's port like
		// any named destination's (3128 is not one the dialer dials).
		got, err = viaProxy(req)
		var ae *transport.AddressError
		if isName := !strings.Contains(req.URL.Hostname(), ":"); isName && (got != nil || !errors.As(err, &ee)) || !isName && !errors.As(err, &ae) {
			t.Errorf("through the proxy %s: %v, %v", u, got, err)
		}
	}
	for _, u := range []string{"http://proxy.corp:3129/", "http://proxy.corp/", "https://api.example.com/", "http://[::2]:8080/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if got, err := direct(req); got != nil || err != nil {
			t.Errorf("direct %s: %v, %v; want no proxy, no error", u, got, err)
		}
	}
}
