package transport

import (
	"errors"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"
)

// TestSafeDialerChecksIPv4In6to4AndCompatible: a 6to4 address
// (2002:a.b.c.d::/48, RFC 3056) and an IPv4-compatible one (::a.b.c.d,
// RFC 4291, deprecated) embed an IPv4 address, as a NAT64 one does, and
// are denied by default; but an AllowPrefixes entry opening IPv6 broadly
// (::/0, 2000::/3, 2002::/16) let 2002:a9fe:a9fe:: (169.254.169.254, the
// metadata service), 2002:7f00:1:: (127.0.0.1) and ::a00:1 (10.0.0.1)
// through, while the same addresses behind 64:ff9b:: were checked with the
// IPv4 rules. They are now checked as their embedded IPv4 address too:
// refused unless its IPv4 range is allowed, the metadata addresses unless
// named exactly; a public one stays allowed. The dial-time hook (control)
// is called directly: no packet is sent.
func TestSafeDialerChecksIPv4In6to4AndCompatible(t *testing.T) {
	for _, tc := range []struct {
		allow   []string
		denied  []string
		allowed []string
	}{
		{
			allow: []string{"::/0"},
			denied: []string{
				"[2002:a9fe:a9fe::]:80", "[2002:a9fe:a9fe:1::5]:80", // 169.254.169.254
				"[2002:7f00:1::]:443", "[2002:a00:1::1]:443", "[2002:c0a8:101::]:443", // 127.0.0.1, 10.0.0.1, 192.168.1.1
				"[::a9fe:a9fe]:80", "[::7f00:1]:443", "[::a00:1]:443", "[::a83f:8110]:80", // ... and 168.63.129.16
				"[2002:a9fe:a9fe::%eth0]:80",
			},
			allowed: []string{"[2002:808:808::1]:443", "[::808:808]:443", "[2606:4700:4700::1111]:443", "[64:ff9b::808:808]:443"},
		},
		{
			allow:   []string{"2000::/3"},
			denied:  []string{"[2002:a9fe:a9fe::]:80", "[2002:a00:1::]:443"},
			allowed: []string{"[2002:808:808::]:443"},
		},
		{
			// The IPv4 range allowed: reachable through 6to4 too, but the
			// metadata addresses inside it only when named.
			allow:   []string{"2002::/16", "0.0.0.0/0"},
			denied:  []string{"[2002:a9fe:a9fe::]:80", "[2002:a9fe:aa02::]:80"}, // 169.254.169.254, 169.254.170.2
			allowed: []string{"[2002:a00:1::]:443", "[2002:a9fe:a9fd::]:80"},
		},
	} {
		var allow []netip.Prefix
		for _, s := range tc.allow {
			allow = append(allow, netip.MustParsePrefix(s))
		}
		sd, err := NewSafeDialer(DialConfig{AllowPrefixes: allow})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tc.denied {
			err := sd.control("tcp6", s, nil)
			var ae *AddressError
			if !errors.As(err, &ae) || !errors.Is(err, ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
				t.Errorf("allow %v: control(%s) = %v, want an *AddressError", tc.allow, s, err)
			}
			if err := sd.Check(netip.MustParseAddrPort(s)); !errors.Is(err, ssrf.ErrProhibitedIP) {
				t.Errorf("allow %v: Check(%s) = %v, want a refusal", tc.allow, s, err)
			}
		}
		for _, s := range tc.allowed {
			if err := sd.control("tcp6", s, nil); err != nil {
				t.Errorf("allow %v: control(%s) = %v, want allowed", tc.allow, s, err)
			}
			if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
				t.Errorf("allow %v: Check(%s) = %v, want allowed", tc.allow, s, err)
			}
		}
	}
}
