package transport_test

import (
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestOriginsAllowsSpellings: a request URL naming a configured origin's
// destination in another spelling (an IPv6 address out of its RFC 5952
// form, an IPv4-mapped address for its IPv4 address or the other way,
// a port with leading zeros, which Go dials as the number) is the same
// origin, as HostKey has it; another port, another address, another
// IPv6 zone or a legacy IPv4 form (which Go's resolver dials nowhere) is
// not.
func TestOriginsAllowsSpellings(t *testing.T) {
	o, err := transport.ParseOrigins("https://[::1]:8443", "https://api.example.com", "https://127.0.0.1:9443", "https://[::ffff:10.0.0.5]", "https://[fe80::1%25eth0]")
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://[::1]:8443/":                     true,
		"https://[0::1]:8443/":                    true,
		"https://[0:0:0:0:0:0:0:1]:8443/x":        true,
		"https://[::1]:08443/":                    true,
		"https://api.example.com:0443/":           true,
		"https://api.example.com:000443/":         true,
		"https://API.example.com:0443/":           true,
		"https://[::ffff:127.0.0.1]:9443/":        true,
		"https://[::ffff:7f00:1]:09443/":          true,
		"https://10.0.0.5/":                       true,
		"https://[::ffff:a00:5]/":                 true,
		"https://[fe80:0::1%25eth0]/":             true,
		"https://[0::1]:443/":                     false,
		"https://[0::2]:8443/":                    false,
		"https://api.example.com:04430/":          false,
		"https://api.example.com:8443/":           false,
		"http://api.example.com:0443/":            false,
		"https://127.1:9443/":                     false,
		"https://127.0.0.1:99443/":                false,
		"https://[::ffff:127.0.0.1%25eth0]:9443/": false,
		"https://[fe80::1%25ETH0]/":               false,
		"https://[fe80::1]/":                      false,
		"https://10.0.0.5:8443/":                  false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := o.Allows(u); got != want {
			t.Errorf("Allows(%s) = %v, want %v", raw, got, want)
		}
	}

	// Through a credential layer: the key goes to the other spelling.
	next := transporttest.NewResponder()
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k-123"), Scope: o})
	roundTripOK(t, rt, authReq(t, "GET", "https://[0::1]:8443/v1", ""))
	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.com:0443/v1", ""))
	for i, r := range next.Requests() {
		if r.Header.Get(transport.DefaultAPIKeyHeader) != "k-123" {
			t.Errorf("request %d (%s): no key", i, r.URL)
		}
	}
}
