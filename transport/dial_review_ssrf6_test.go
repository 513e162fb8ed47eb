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
