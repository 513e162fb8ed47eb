package transport

import (
	"net/netip"
	"testing"
)

// TestHostAddrLegacyIPv4: the numeric host forms a proxy's resolver
// (inet_aton) reads as IPv4 addresses are read as those addresses; a host
// whose last label is a number but that is no address is reported as
// numeric, so GuardProxy refuses it; names are neither.
func TestHostAddrLegacyIPv4(t *testing.T) {
	for h, want := range map[string]string{
		"169.254.169.254":     "169.254.169.254",
		"2852039166":          "169.254.169.254",
		"0xa9fea9fe":          "169.254.169.254",
		"0xa9.0xfe.0xa9.0xfe": "169.254.169.254",
		"0251.0376.0251.0376": "169.254.169.254",
		"169.254.43518":       "169.254.169.254",
		"169.16689662":        "169.254.169.254",
		"127.1":               "127.0.0.1",
		"0":                   "0.0.0.0",
		"1.2.3.0x":            "1.2.3.0",
		"fe80::1%eth0":        "fe80::1%eth0",
	} {
		a, ok, numeric := hostAddr(h)
		if !ok || !numeric || a != netip.MustParseAddr(want) {
			t.Errorf("hostAddr(%q) = %v, %v, %v; want %s", h, a, ok, numeric, want)
		}
	}
	for _, h := range []string{"1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.16777216", "4294967296", "08.1.1.1", "a.1", "0x1ffffffff", "1..1"} {
		if _, ok, numeric := hostAddr(h); ok || !numeric {
			t.Errorf("hostAddr(%q) = %v, %v; want numeric but no address", h, ok, numeric)
		}
	}
	for _, h := range []string{"api.example.com", "1.2.3.example", "0xfoo", "x1", "1x", ""} {
		if _, ok, numeric := hostAddr(h); ok || numeric {
			t.Errorf("hostAddr(%q) = %v, %v; want a name", h, ok, numeric)
		}
	}
}
