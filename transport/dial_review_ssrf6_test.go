package transport_test

import (
	"errors"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerDeniesAzureWireServer: 168.63.129.16, the Azure platform's
// WireServer (guest-agent goal state, extension settings, the host plugin
// on 32526), is reachable from every Azure VM like the 169.254.169.254
// metadata service, but sits in public address space, so no IANA
// special-purpose list has it. It is refused by default; AllowPrefixes
// opens it for a caller that means to call it.
func TestSafeDialerDeniesAzureWireServer(t *testing.T) {
	ap := netip.MustParseAddrPort("168.63.129.16:80")
	err := safeDialer(t, transport.DialConfig{}).Check(ap)
	if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
		t.Fatalf("Check(%s) = %v, want a refusal", ap, err)
	}
	if err := safeDialer(t, transport.DialConfig{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("168.63.129.16/32")}}).Check(ap); err != nil {
		t.Fatalf("Check(%s) with AllowPrefixes = %v, want allowed", ap, err)
	}
	// Its neighbours are ordinary public addresses.
	if err := safeDialer(t, transport.DialConfig{}).Check(netip.MustParseAddrPort("168.63.129.17:80")); err != nil {
		t.Fatalf("Check(168.63.129.17:80) = %v, want allowed", err)
	}
}

// TestSafeDialerProxiesPortMustBeANumber: net/http dials a proxy at a
// numeric port ("proxy.corp:80" for "http://proxy.corp"), so an entry
// whose port is a service name, has leading zeros or is out of range never
// matches and the proxy is silently refused at dial time. Bad
// configuration is a *ConfigError naming the entry.
func TestSafeDialerProxiesPortMustBeANumber(t *testing.T) {
	for _, p := range []string{"proxy.corp:http", "proxy.corp:03128", "proxy.corp:0", "proxy.corp:70000"} {
		_, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{p}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Proxies[0]" {
			t.Errorf("Proxies[0] = %q: err = %v, want a *ConfigError for Proxies[0]", p, err)
		}
	}
	if _, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.corp:3128"}}); err != nil {
		t.Fatal(err)
	}
}
