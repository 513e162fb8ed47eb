package transport_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/securecall/securecall/transport"
)

// An IPv6 zone names the interface a packet leaves by, not the
// destination: Go connects "[fd00::1%eth0]:443" to fd00::1. The dialer
// refused every zoned address, also inside a range AllowPrefixes opens
// (netip.Prefix.Contains never matches a zoned address, so the ssrf
// guard found no allowed range and then no global unicast address), so
// WithAllowedNetworks(fe80::/10) could reach no link-local address: one
// without its zone cannot be dialed. A zoned address is checked as its
// address; what the deny list denies stays denied with any zone.
func TestSafeDialerZonedAddressCheckedAsItsAddress(t *testing.T) {
	sd, err := transport.NewSafeDialer(transport.DialConfig{AllowPrefixes: []netip.Prefix{
		netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::1/128"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := transport.NewSafeDialer(transport.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"[fe80::1%eth0]:443", "[fd00::1%eth0]:443", "[::1%lo]:443"} {
		if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
			t.Errorf("Check(%s) with its range allowed: %v", s, err)
		}
		if err := def.Check(netip.MustParseAddrPort(s)); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Check(%s) by default: %v, want denied", s, err)
		}
	}
	if err := def.Check(netip.MustParseAddrPort("[2606:4700::1111%eth0]:443")); err != nil {
		t.Errorf("Check of a zoned public address: %v", err)
	}
	for _, s := range []string{
		"[fd00:ec2::254%eth0]:443",      // metadata inside fd00::/8
		"[fe80::1%eth0]:8443",           // port
		"[::ffff:127.0.0.1%lo]:443",     // mapped: dialed as "127.0.0.1%lo"
		"[2001:db8::1%eth0]:443",        // documentation
		"[64:ff9b::a9fe:a9fe%eth0]:443", // NAT64 of the metadata address
	} {
		if err := sd.Check(netip.MustParseAddrPort(s)); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Check(%s): %v, want denied", s, err)
		}
	}

	// A real connection over the loopback interface, its zone given.
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	lo, err := transport.NewSafeDialer(transport.DialConfig{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("::1/128")}, AnyPort: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := lo.DialContext(context.Background(), "tcp", "[::1%lo]:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("dial [::1%%lo] with ::1/128 allowed: %v", err)
	}
	c.Close()
	if _, err := def.DialContext(context.Background(), "tcp", "[::1%lo]:"+strconv.Itoa(port)); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("dial [::1%%lo] by default: %v, want denied", err)
	}
}
