package transport_test

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerMappedAddressDialedAsIPv4 pins what DialConfig.AllowPrefixes
// says of an IPv4-mapped address: Go dials [::ffff:127.0.0.1] over IPv4, so
// the dialer checks 127.0.0.1 and an IPv4 prefix allows it, while an IPv6
// prefix over ::ffff:127.0.0.0/104 allows no connection to it.
func TestSafeDialerMappedAddressDialedAsIPv4(t *testing.T) {
	srv := newConnCounter(t, nil, "hello")
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	u := "http://[::ffff:127.0.0.1]:" + port + "/"

	v4 := safeClient(safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Ports:         []uint16{uint16(p)},
	}))
	if body, err := getBody(v4, u); err != nil || body != "hello" {
		t.Fatalf("IPv4 prefix 127.0.0.1/32: %q, %v; want the mapped address dialed as 127.0.0.1", body, err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("server accepted %d connections, want 1", n)
	}

	v6 := safeClient(safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")},
		Ports:         []uint16{uint16(p)},
	}))
	_, err := getBody(v6, u)
	var ae *transport.AddressError
	if !errors.As(err, &ae) || ae.Addr != "127.0.0.1:"+port {
		t.Fatalf("IPv6 prefix ::ffff:127.0.0.0/104: err = %v, want an *AddressError for 127.0.0.1:%s", err, port)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("server accepted %d connections, want still 1", n)
	}
}

// TestSafeDialerCheckAgreesWithDialOnMappedAddresses: Check says whether
// the dialer would connect; for an IPv4-mapped address the dialer connects
// its IPv4 address over IPv4 (and refuses one with a zone, which it is
// handed as "a.b.c.d%zone"), so Check answers with the IPv4 rules too.
func TestSafeDialerCheckAgreesWithDialOnMappedAddresses(t *testing.T) {
	for _, tc := range []struct {
		allow []netip.Prefix
		addr  string
		ok    bool
	}{
		{[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "[::ffff:127.0.0.1]:443", true},
		{[]netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}, "[::ffff:127.0.0.1]:443", false},
		{nil, "[::ffff:8.8.8.8]:443", true},
		{nil, "[::ffff:8.8.8.8%eth0]:443", false},
		{[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "[::ffff:127.0.0.1%lo]:443", false},
	} {
		sd := safeDialer(t, transport.DialConfig{AllowPrefixes: tc.allow})
		err := sd.Check(netip.MustParseAddrPort(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("allow %v: Check(%s) = %v, want ok=%v (what the dialer does)", tc.allow, tc.addr, err, tc.ok)
		}
		var ae *transport.AddressError
		if err != nil && !errors.As(err, &ae) {
			t.Errorf("Check(%s) = %T, want *AddressError", tc.addr, err)
		}
	}
}
