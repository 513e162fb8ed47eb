package transport_test

import (
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestEgressSpellings: a request URL naming an allowed destination in
// another spelling (an IPv4-mapped address for an IPv4 entry or the other
// way, an IPv6 address out of its standard form, a port with leading
// zeros, which Go dials as the number) is allowed, as HostKey names the
// destination; another port, another address, a zone (no entry has one)
// or a legacy IPv4 form (which Go's resolver dials nowhere) is not.
func TestEgressSpellings(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"127.0.0.1", "10.0.0.7:8443", "[::ffff:10.0.0.5]", "[::1]:9443", "api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://127.0.0.1/":                 true,
		"https://[::ffff:127.0.0.1]/":        true,
		"https://[::ffff:7f00:1]:0443/":      true,
		"https://127.0.0.1:0443/":            true,
		"https://127.0.0.1:00443/":           true,
		"https://[::ffff:10.0.0.7]:08443/":   true,
		"https://10.0.0.5/":                  true,
		"https://[::ffff:10.0.0.5]/":         true,
		"https://[0::1]:09443/":              true,
		"https://api.example.com:0443/":      true,
		"https://127.0.0.1:4430/":            false,
		"https://127.0.0.1:8443/":            false,
		"https://10.0.0.7/":                  false,
		"https://[::ffff:127.0.0.2]/":        false,
		"https://[::ffff:127.0.0.1%25eth0]/": false,
		"https://[::7f00:1]/":                false,
		"https://127.1/":                     false,
		"https://[::1]/":                     false,
		"https://api.example.com:04430/":     false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := p.CheckURL(u) == nil; got != want {
			t.Errorf("CheckURL(%s) allowed = %v, want %v", raw, got, want)
		}
	}
}
