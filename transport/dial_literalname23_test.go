package transport_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestDialAllowanceOfLiteralNotReachedByName: the client (and a stack
// built by hand with AddDialAllowances) lets the SSRF-safe dialer connect
// to the IP-literal hosts of its allowlist and its token endpoint
// ("https://127.0.0.1:8443", an internal API or identity provider named by
// address), since the caller named them. Until session 23 the address was
// allowed for any dial: a name on the allowlist (or any https host, the
// client's default without origins) whose DNS answered that address
// (rebinding: an attacker's webhook host, a partner's compromised zone)
// got a connection to the internal service the caller named only by its
// literal. The address is now dialed only when the destination is that
// literal; a name resolving to it is checked as any name is.
func TestDialAllowanceOfLiteralNotReachedByName(t *testing.T) {
	pubLn, privLn, port := listenPair(t)
	pubLn.Close()
	internal := newConnCounter(t, privLn, "internal")
	p, _ := strconv.Atoi(port)

	dns := &fakeDNS{answer: func(name string, _ int) []netip.Addr {
		if name == "rebind.example.test" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		}
		return nil
	}}
	for _, tc := range []struct {
		name  string
		allow []string
		addrs []netip.Addr // as client.dialConfig passes a token endpoint's
	}{
		{"allowlist entry", []string{"http://127.0.0.1:" + port, "http://rebind.example.test:" + port}, nil},
		{"mapped allowlist entry", []string{"http://[::ffff:127.0.0.1]:" + port, "http://rebind.example.test:" + port}, nil},
		{"token endpoint", []string{"http://rebind.example.test:" + port}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: tc.allow, AllowHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			dc := policy.AddDialAllowances(transport.DialConfig{Resolver: dns.resolver()}, tc.addrs, []uint16{uint16(p)})
			sd := safeDialer(t, dc)
			c := safeClient(sd)
			before := internal.conns.Load()

			// The literal the caller named is reached.
			if body, err := getBody(c, "http://127.0.0.1:"+port+"/"); err != nil || body != "internal" {
				t.Fatalf("literal: %q %v", body, err)
			}
			if err := sd.Check(netip.MustParseAddrPort("127.0.0.1:" + port)); err != nil {
				t.Fatalf("Check of the literal: %v", err)
			}
			// On a port the dialer does not allow, the literal is refused.
			if _, err := getBody(c, "http://127.0.0.1:1/"); !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedPort) {
				t.Fatalf("literal on another port: err = %v, want ErrEgressDenied (port)", err)
			}
			// A name resolving to it is not.
			_, err = getBody(c, "http://rebind.example.test:"+port+"/")
			if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
				t.Fatalf("name resolving to the literal: err = %v, want ErrEgressDenied", err)
			}
			// Through a proxy, GuardProxy checks an IP-literal
			// destination as the literal, and "localhost", which the
			// proxy resolves to loopback, as the addresses a name
			// resolves to: not allowed by the literal.
			proxy := func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.example.test:3128") }
			// Both loopback addresses named, as "localhost" resolves to
			// both.
			both := policy.AddDialAllowances(transport.DialConfig{}, []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, []uint16{uint16(p)})
			guard := safeDialer(t, both).GuardProxy(proxy)
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/", nil)
			if _, err := guard(req); err != nil {
				t.Fatalf("literal through a proxy: %v", err)
			}
			req, _ = http.NewRequest(http.MethodGet, "http://localhost:"+port+"/", nil)
			if _, err := guard(req); !errors.Is(err, transport.ErrEgressDenied) {
				t.Fatalf("localhost through a proxy: err = %v, want ErrEgressDenied", err)
			}
			if n := internal.conns.Load() - before; n != 1 {
				t.Fatalf("internal server accepted %d connections, want 1 (the literal's)", n)
			}
		})
	}
}
