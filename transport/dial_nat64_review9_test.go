package transport_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerNAT64ChecksEmbeddedIPv4: in an IPv6-only network with
// DNS64 and NAT64 (AWS IPv6-only subnets, for one), the NAT64 well-known
// prefix 64:ff9b::/96 must be allowed for any IPv4 destination to be
// reachable (code.dny.dev/ssrf recommends it). 64:ff9b::a.b.c.d is then
// the IPv4 address a.b.c.d behind the gateway: a name whose A record is
// 169.254.169.254 gets the AAAA 64:ff9b::a9fe:a9fe from DNS64, and a URL
// may name it as a literal. The embedded address must be checked with the
// IPv4 rules, or allowing NAT64 opens every private IPv4 range and the
// metadata service; an allowed IPv4 range stays reachable through it.
func TestSafeDialerNAT64ChecksEmbeddedIPv4(t *testing.T) {
	sd := safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("10.1.0.0/16")},
		Timeout:       2 * time.Second,
	})
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"[64:ff9b::a9fe:a9fe]:80", false},   // 169.254.169.254
		{"[64:ff9b::7f00:1]:443", false},     // 127.0.0.1
		{"[64:ff9b::a00:1]:443", false},      // 10.0.0.1
		{"[64:ff9b::c0a8:101]:443", false},   // 192.168.1.1
		{"[64:ff9b::a83f:8110]:80", false},   // 168.63.129.16, Azure WireServer
		{"[64:ff9b::a01:203]:443", true},     // 10.1.2.3: its IPv4 range is allowed
		{"[64:ff9b::808:808]:443", true},     // 8.8.8.8
		{"[64:ff9b::808:808]:22", false},     // port rules still apply
		{"[2606:4700:4700::1111]:443", true}, // ordinary IPv6 untouched
	} {
		ap := netip.MustParseAddrPort(tc.addr)
		err := sd.Check(ap)
		if tc.ok {
			if err != nil {
				t.Errorf("Check(%s) = %v, want allowed", ap, err)
			}
			continue
		}
		if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) && !errors.Is(err, ssrf.ErrProhibitedPort) {
			t.Errorf("Check(%s) = %v, want a refusal", ap, err)
		}
	}
	// The dial-time hook applies the same rule: refused before connecting.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sd.DialContext(ctx, "tcp", "[64:ff9b::a9fe:a9fe]:80")
	if c != nil {
		c.Close()
	}
	var ae *transport.AddressError
	if !errors.As(err, &ae) || !errors.Is(err, ssrf.ErrProhibitedIP) {
		t.Fatalf("DialContext(64:ff9b::a9fe:a9fe) = %v, want an *AddressError", err)
	}
}
