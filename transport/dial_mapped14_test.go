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
