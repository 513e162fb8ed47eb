package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectPolicySameOriginSpellings: with no Origins, a hop to the
// first request's destination in another spelling Go dials to the same
// place (an IPv6 address out of its RFC 5952 form, an IPv4-mapped address
// for its IPv4 address, a port with leading zeros) is the client's own
// origin, as Origins.Allows and HostKey have it, and keeps its
// credentials; it was taken for a foreign hop (refused, or followed with
// Authorization stripped). Another port, address, scheme or IPv6 zone
// stays foreign.
func TestRedirectPolicySameOriginSpellings(t *testing.T) {
	for _, c := range []struct {
		first, hop string
		own        bool
	}{
		{"https://[::1]:8443/a", "https://[0::1]:8443/b", true},
		{"https://[::1]:8443/a", "https://[::1]:08443/b", true},
		{"https://[0::1]:8443/a", "https://[::1]:8443/b", true},
		{"https://127.0.0.1/a", "https://[::ffff:127.0.0.1]/b", true},
		{"https://[::ffff:7f00:1]:9443/a", "https://127.0.0.1:09443/b", true},
		{"https://api.example.com/a", "https://api.example.com:0443/b", true},
		{"https://[::1]:8443/a", "https://[::1]:8444/b", false},
		{"https://[::1]:8443/a", "https://[::2]:8443/b", false},
		{"http://[::1]:8443/a", "https://[0::1]:443/b", false},
		{"https://[::1]:8443/a", "https://[::1%25eth0]:8443/b", false},
		{"https://[fe80::1%25eth0]:8443/a", "https://[fe80::1%25eth1]:8443/b", false},
		{"https://127.0.0.1/a", "https://[::ffff:127.0.0.2]/b", false},
		{"https://127.0.0.1/a", "https://127.1/b", false},
	} {
		p := &transport.RedirectPolicy{}
		first, _ := http.NewRequest(http.MethodGet, c.first, nil)
		hop, _ := http.NewRequest(http.MethodGet, c.hop, nil)
		hop.Header.Set("Authorization", "Bearer t")
		err := p.Check(hop, []*http.Request{first})
		own := err == nil && hop.Header.Get("Authorization") != ""
		if own != c.own {
			t.Errorf("%s -> %s: err = %v, Authorization kept = %v; want own origin = %v", c.first, c.hop, err, hop.Header.Get("Authorization") != "", c.own)
		}
	}
}
