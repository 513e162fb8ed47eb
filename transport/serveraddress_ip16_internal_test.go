package transport

import (
	"net/url"
	"testing"
)

// server.address names a server as HostKey does (session 16), so that the
// spans and http.client.request.duration name it as the inventory, the
// audit log and the resilience metrics (hostKeyAttrs) do. An IP address
// was left as the URL spelled it: "[FE80::1]" and "[fe80::1]",
// "[0:0::1]" and "[::1]", "127.1" and "127.0.0.1", "[::ffff:7f00:1]" and
// "127.0.0.1" were two servers in the spans and one in the metrics. The
// address is the key's: IPv6 in its RFC 5952 form without brackets, the
// zone as written, an IPv4-mapped one and a legacy IPv4 form in
// dotted-decimal.
func TestServerOfIPLiteralAsHostKey(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"[FE80::1]", "fe80::1"},
		{"[0:0:0:0:0:0:0:1]:8443", "::1"},
		{"[0::1]", "::1"},
		{"[FE80::1%25ETH0]:1", "fe80::1%ETH0"},
		{"[fe80::1%25eth0]", "fe80::1%eth0"},
		{"[::ffff:7f00:1]", "127.0.0.1"},
		{"[::FFFF:127.0.0.1]:8443", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"2130706433:8443", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"u:p@[2001:DB8::1]:8443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"127.0.0.1", "127.0.0.1"},
	} {
		u, err := url.Parse("https://" + c.host + "/x")
		if err != nil {
			t.Fatalf("%s: %v", c.host, err)
		}
		got, _ := serverOf(u)
		key := hostKeyAttrs(HostKey(u), nil)[0].Value.AsString()
		if got != c.want || got != key {
			t.Errorf("serverOf(%q) = %q; want %q, the host of HostKey %q (%q)", u.Host, got, c.want, HostKey(u), key)
		}
	}
}
