package transport_test

import (
	"errors"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerDenyPrefixMappedIPv4: Go dials an IPv4-mapped address
// over IPv4, so the dial-time check only ever sees a.b.c.d and checks it
// with the IPv4 rules. A DenyPrefixes entry written in the mapped form
// ("::ffff:8.8.4.0/120") went to the IPv6 list, which no dialed address
// reaches: the range stayed open, whichever way the destination was
// written. It denies the IPv4 addresses it maps.
func TestSafeDialerDenyPrefixMappedIPv4(t *testing.T) {
	sd := safeDialer(t, transport.DialConfig{
		DenyPrefixes: []netip.Prefix{
			netip.MustParsePrefix("::ffff:8.8.4.0/120"),
			netip.MustParsePrefix("::ffff:1.1.1.1/128"),
		},
	})
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"8.8.4.4:443", false},
		{"[::ffff:8.8.4.4]:443", false},
		{"1.1.1.1:443", false},
		{"[::ffff:1.1.1.1]:80", false},
		{"8.8.8.8:443", true},
		{"[::ffff:8.8.8.8]:443", true},
		{"1.1.1.2:443", true},
	} {
		err := sd.Check(netip.MustParseAddrPort(tc.addr))
		if tc.ok {
			if err != nil {
				t.Errorf("Check(%s) = %v, want allowed", tc.addr, err)
			}
			continue
		}
		if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
			t.Errorf("Check(%s) = %v, want ErrEgressDenied (ssrf.ErrProhibitedIP)", tc.addr, err)
		}
	}
}
