package transport_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerIPv6MetadataOfGCPAndOracleNotOpenedByBroadAllow: the IPv6
// metadata services of Google Cloud (fd20:ce::254, on IPv6-only VMs) and
// Oracle Cloud (fd00:c1::a9fe:a9fe, its IMDS over IPv6) sit in fd00::/8,
// the unique-local range a VPC's broad allow (fd00::/8, fc00::/7, ::/0)
// opens, as AWS's fd00:ec2::254 does: they stay denied unless an entry
// names them exactly, directly and through GuardProxy, and the addresses
// next to them stay allowed.
func TestSafeDialerIPv6MetadataOfGCPAndOracleNotOpenedByBroadAllow(t *testing.T) {
	for _, allow := range [][]string{{"fd00::/8"}, {"fc00::/7"}, {"::/0"}} {
		sd := safeDialer(t, transport.DialConfig{AllowPrefixes: prefixes(allow...)})
		for _, s := range []string{"[fd20:ce::254]:80", "[fd00:c1::a9fe:a9fe]:80"} {
			err := sd.Check(netip.MustParseAddrPort(s))
			var ae *transport.AddressError
			if !errors.As(err, &ae) || !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
				t.Errorf("allow %v: Check(%s) = %v, want an *AddressError (ssrf.ErrProhibitedIP)", allow, s, err)
			}
		}
		for _, s := range []string{"[fd20:ce::253]:80", "[fd00:c1::a9fe:a9fd]:80"} {
			if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
				t.Errorf("allow %v: Check(%s) = %v, want allowed", allow, s, err)
			}
		}
		proxy := sd.GuardProxy(http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.example.test:3128"}))
		for _, u := range []string{"http://[fd20:ce::254]/computeMetadata/v1/", "http://[fd00:c1::a9fe:a9fe]/opc/v2/instance/"} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if pu, err := proxy(req); !errors.Is(err, transport.ErrEgressDenied) {
				t.Errorf("allow %v: GuardProxy(%s) = %v, %v, want ErrEgressDenied", allow, u, pu, err)
			}
		}
	}
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: prefixes("fd00::/8", "fd20:ce::254/128", "fd00:c1::a9fe:a9fe/128")})
	for _, s := range []string{"[fd20:ce::254]:80", "[fd00:c1::a9fe:a9fe]:80"} {
		if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
			t.Errorf("named exactly: Check(%s) = %v, want allowed", s, err)
		}
	}
}
