package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/securecall/securecall/transport"
)

// dialedAddress returns the address net/http's transport, with a
// net.Dialer, connects for rawURL: the socket's network and IP:port as the
// dialer's Control hook sees them. Nothing is connected.
func dialedAddress(t *testing.T, rawURL string) string {
	t.Helper()
	stop := errors.New("stop")
	var got string
	d := &net.Dialer{Control: func(network, address string, _ syscall.RawConn) error {
		got = network + " " + address
		return stop
	}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatalf("%s: connected", rawURL)
	} else if !errors.Is(err, stop) {
		t.Fatalf("%s: %v, want the dial to reach Control", rawURL, err)
	}
	return got
}

// sameKey checks that every URL of a group gets one HostKey, want, and
// (dial) that net/http dials them all at one address.
func sameKey(t *testing.T, want string, dial bool, urls ...string) {
	t.Helper()
	first := ""
	for i, s := range urls {
		if k := transport.HostKey(mustURL(t, s)); k != want {
			t.Errorf("HostKey(%s) = %q, want %q: one destination, another key (its own breaker, throttle and retry budget)", s, k, want)
		}
		if !dial {
			continue
		}
		a := dialedAddress(t, s)
		if i == 0 {
			first = a
		} else if a != first {
			t.Fatalf("%s dials %q, %s dials %q: not one destination", urls[0], first, s, a)
		}
	}
}

// An IPv6 literal is one host however it is written (zeros, "::", hex
// case), as net/http dials it and as the egress allowlist compares it; an
// IPv4-mapped IPv6 literal is the IPv4 address, which Go's dialer connects
// over IPv4. A zone stays part of the key, as written: a link-local
// address on another link (interface) is another host.
func TestHostKeyIPLiteralSpellings(t *testing.T) {
	sameKey(t, "[::1]", true, "https://[::1]/", "https://[0:0:0:0:0:0:0:1]/", "https://[0::1]/", "https://[0000::0001]:443/")
	sameKey(t, "[::1]:8443", true, "https://[::1]:8443/", "https://[0:0:0:0:0:0:0:1]:8443/")
	sameKey(t, "[2001:db8::1]:9443", true, "https://[2001:db8::1]:9443/", "https://[2001:DB8:0::1]:9443/", "https://[2001:0db8:0000:0000:0000:0000:0000:0001]:9443/")
	sameKey(t, "[fe80::1]", true, "https://[fe80::1]/", "https://[FE80::1]/", "https://[fe80:0::1]/")
	sameKey(t, "127.0.0.1", true, "https://127.0.0.1/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[0:0:0:0:0:FFFF:7F00:1]:443/")
	sameKey(t, "127.0.0.1:8443", true, "https://127.0.0.1:8443/", "https://[::ffff:127.0.0.1]:8443/", "https://[::FFFF:7f00:0001]:8443/")

	// Zones: part of the key, as written (interface names are
	// case-sensitive: see TestHostKeyZoneAsWritten), the address canonical.
	sameKey(t, "[fe80::1%eth0]", false, "https://[fe80::1%25eth0]/", "https://[FE80:0::1%25eth0]:443/")
	for _, other := range []string{"https://[fe80::1]/", "https://[fe80::1%25eth1]/", "https://[fe80::1%25ETH0]/"} {
		if k := transport.HostKey(mustURL(t, other)); k == "[fe80::1%eth0]" {
			t.Errorf("HostKey(%s) = %q: another link, the same key", other, k)
		}
	}
	// Not an IPv6 literal: unchanged.
	if k := transport.HostKey(mustURL(t, "https://[::1]:9443/")); k != "[::1]:9443" {
		t.Errorf("HostKey([::1]:9443) = %q", k)
	}

	// The canonical forms cost no allocation.
	for _, s := range []string{"https://127.0.0.1/", "https://10.0.0.1:8443/", "https://[2001:db8::1]/", "https://[2001:db8::1]:9443/"} {
		u := mustURL(t, s)
		if n := testing.AllocsPerRun(100, func() { transport.HostKey(u) }); n != 0 {
			t.Errorf("HostKey(%s) allocates %v times", s, n)
		}
	}
}

// A port written with leading zeros is the port net/http dials
// ("api.example.com:0443" connects port 443): the scheme's default port
// written so is dropped, another is kept without its zeros; however many
// zeros there are, the host keeps its own key (not "_invalid", shared
// with every overlong host). An empty port (":") is the default port.
func TestHostKeyPortLeadingZeros(t *testing.T) {
	sameKey(t, "127.0.0.1", true, "https://127.0.0.1/", "https://127.0.0.1:0443/", "https://127.0.0.1:000443/", "https://127.0.0.1:/")
	sameKey(t, "127.0.0.1:8443", true, "https://127.0.0.1:8443/", "https://127.0.0.1:08443/", "https://127.0.0.1:00000008443/")
	sameKey(t, "127.0.0.1", true, "http://127.0.0.1/", "http://127.0.0.1:080/", "http://127.0.0.1:0080/")
	sameKey(t, "[::1]", true, "https://[::1]/", "https://[::1]:0443/", "https://[::1]:/")
	sameKey(t, "api.example.com", false, "https://api.example.com/", "https://API.example.com:0443/", "https://api.example.com:00443/", "https://api.example.com:/")
	sameKey(t, "api.example.com:8443", false, "https://api.example.com:8443/", "https://api.example.com:08443/")
	if k := transport.HostKey(mustURL(t, "https://api.example.com:0/")); k != "api.example.com:0" {
		t.Errorf("HostKey(:0) = %q", k)
	}
	if k := transport.HostKey(mustURL(t, "https://api.example.com:000/")); k != "api.example.com:0" {
		t.Errorf("HostKey(:000) = %q", k)
	}
	if k := transport.HostKey(mustURL(t, "https://api.example.com:123456/")); k != "_invalid" {
		t.Errorf("HostKey(:123456) = %q, want _invalid (no port has six digits)", k)
	}
}

// The legacy IPv4 forms ("127.1", "2130706433", "0x7f.0.0.1",
// "0177.0.0.1") name the address they spell wherever they reach anything:
// the WHATWG URL parser, inet_aton and getaddrinfo (Go's cgo resolver, the
// default on macOS) and a proxy's resolver read them so, and the
// SafeDialer checks a proxied one as that address. HostKey keys them as
// the address, so a caller's URLs cannot spread one host over as many
// states as it has spellings (leading zeros make them unbounded). A host
// that ends in a number and is no address ("1.2.3.4.5") is left as it is.
func TestHostKeyLegacyIPv4Forms(t *testing.T) {
	sd, err := transport.NewSafeDialer(transport.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pu := mustURL(t, "http://proxy.corp:3128")
	guard := sd.GuardProxy(http.ProxyURL(pu))
	for _, c := range []struct {
		want string
		urls []string
	}{
		{"127.0.0.1", []string{"https://127.0.0.1/", "https://127.1/", "https://127.0.1/", "https://2130706433/", "https://0x7f.0.0.1/", "https://0X7F.0.0.1:0443/", "https://0177.0.0.1/", "https://0x7f000001/", "https://00000177.0.0.1/", "https://127.0.0.1./"}},
		{"127.0.0.1:8443", []string{"https://127.0.0.1:8443/", "https://127.1:8443/", "https://0x7F000001:8443/"}},
	} {
		sameKey(t, c.want, false, c.urls...)
		first := ""
		for _, s := range c.urls {
			req, err := http.NewRequest(http.MethodGet, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = guard(req)
			var ae *transport.AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("%s through a proxy: %v, want the SafeDialer to check it as an address", s, err)
			}
			if first == "" {
				first = ae.Addr
			} else if ae.Addr != first {
				t.Errorf("%s through a proxy is checked as %s, want %s", s, ae.Addr, first)
			}
		}
	}
	for _, s := range []string{"https://1.2.3.4.5/", "https://256.0.0.1/", "https://api1.example.com/", "https://web-0/"} {
		u := mustURL(t, s)
		if k, want := transport.HostKey(u), u.Hostname(); k != want {
			t.Errorf("HostKey(%s) = %q, want %q (no address)", s, k, want)
		}
	}
	if k := transport.HostKey(mustURL(t, "https://127.0.0.1../")); k != "127.0.0.1." {
		t.Errorf("HostKey(127.0.0.1..) = %q, want 127.0.0.1. (one trailing dot dropped, as for a name)", k)
	}
	for _, s := range []string{"https://web-0/", "https://api1.example.com:8443/", "https://10.0.0.1/"} {
		u := mustURL(t, s)
		if n := testing.AllocsPerRun(100, func() { transport.HostKey(u) }); n != 0 {
			t.Errorf("HostKey(%s) allocates %v times", s, n)
		}
	}
}
