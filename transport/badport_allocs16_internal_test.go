package transport

import (
	"net/url"
	"strings"
	"testing"
)

// TestNonNumericPortParsedHosts: no host url.Parse accepts is refused by
// the Base's check for a port that is not a number, and the check costs
// no allocation on a valid host, an IPv6 literal without a port
// ("[2001:db8::1]", whose last colon is inside the brackets) included:
// net.SplitHostPort, which the check asks when the text after the last
// colon is not a number, allocates its error for such a host.
func TestNonNumericPortParsedHosts(t *testing.T) {
	check := func(h string) bool {
		c := strings.LastIndexByte(h, ':')
		return c >= 0 && nonNumericPort(h, c)
	}
	for _, raw := range []string{
		"api.example.test", "api.example.test:443", "api.example.test:", ":443", ":",
		"[::1]", "[::1]:443", "[::1]:", "[2001:db8::1]", "[::ffff:10.0.0.1]",
		"[fe80::1%25eth0]", "[fe80::1%25eth0]:8443", "[fe80::1%25a:b]", "[fe80::1%25a:b]:443",
		"[fe80::1%25a:]", "[fe80::1%25:x]", "[::1%25x%5D:y]", "bücher.example.test", "bücher.example.test:8443",
	} {
		u, err := url.Parse("https://" + raw + "/x")
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if check(u.Host) {
			t.Errorf("%q (Host %q): refused as a port that is not a number", raw, u.Host)
		}
		if n := testing.AllocsPerRun(100, func() { _ = check(u.Host) }); n != 0 {
			t.Errorf("%q (Host %q): %v allocations, want 0", raw, u.Host, n)
		}
	}
	for _, h := range []string{"api.example.test:44x", "[::1]:44x", "api.example.test: 1", "bücher.example.test:44x"} {
		if !check(h) {
			t.Errorf("%q: not refused", h)
		}
	}
}
