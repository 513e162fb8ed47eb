package transport

import (
	"errors"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"
)

// TestSafeDialerChecksIPv4InTeredo: a Teredo address (2001:0::/32, RFC
// 4380) embeds two IPv4 addresses, the Teredo server's in bits 32-63 and
// the client's, each bit inverted, in the last 32 bits, which a relay
// sends the packets to. It is denied by default; but an AllowPrefixes
// entry opening IPv6 broadly (::/0, 2000::/3, 2001::/32) let
// 2001:0:4136:e378:8000:63bf:5601:5601 (client 169.254.169.254, the
// metadata service) and ...:80ff:fffe (client 127.0.0.1) through, while
// the same IPv4 addresses behind a NAT64 or 6to4 prefix were checked with
// the IPv4 rules. Both embedded addresses are now checked as IPv4:
// refused unless their IPv4 range is allowed, the metadata addresses
// unless named exactly; public ones stay allowed. The dial-time hook
// (control) is called directly: no packet is sent.
func TestSafeDialerChecksIPv4InTeredo(t *testing.T) {
	const (
		metaClient  = "[2001:0:4136:e378:8000:63bf:5601:5601]:80"  // server 65.54.227.120, client 169.254.169.254
		loopClient  = "[2001:0:4136:e378:8000:63bf:80ff:fffe]:443" // client 127.0.0.1
		privClient  = "[2001:0:4136:e378:8000:63bf:f5ff:fffe]:443" // client 10.0.0.1
		metaServer  = "[2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7]:80"  // server 169.254.169.254, client 8.8.8.8
		loopServer  = "[2001::7f00:1:8000:63bf:f7f7:f7f7]:443"     // server 127.0.0.1
		public      = "[2001:0:4136:e378:8000:63bf:f7f7:f7f7]:443" // server 65.54.227.120, client 8.8.8.8
		ecsClient   = "[2001:0:4136:e378:8000:63bf:5601:55fd]:80"  // client 169.254.170.2
		linkClient  = "[2001:0:4136:e378:8000:63bf:5601:5602]:80"  // client 169.254.169.253
		zonedClient = "[2001:0:4136:e378:8000:63bf:5601:5601%eth0]:80"
	)
	for _, tc := range []struct {
		allow   []string
		denied  []string
		allowed []string
	}{
		{
			allow:   []string{"::/0"},
			denied:  []string{metaClient, loopClient, privClient, metaServer, loopServer, zonedClient},
			allowed: []string{public, "[2606:4700:4700::1111]:443"},
		},
		{
			allow:   []string{"2000::/3"},
			denied:  []string{metaClient, loopClient, metaServer},
			allowed: []string{public},
		},
		{
			// The IPv4 range allowed: reachable through Teredo too, but
			// the metadata addresses inside it only when named.
			allow:   []string{"2001::/32", "0.0.0.0/0"},
			denied:  []string{metaClient, ecsClient, metaServer},
			allowed: []string{public, privClient, loopClient, linkClient},
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
	// Not Teredo: 2001:1::/32 and beyond embed nothing.
	if _, _, ok := teredoIPv4s(netip.MustParseAddr("2001:1:a9fe:a9fe::5601:5601")); ok {
		t.Error("2001:1::/32 taken for Teredo")
	}
}
