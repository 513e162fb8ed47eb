package transport_test

import (
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestHostKeyZoneAsWritten: an IPv6 zone names an interface, and
// interface names are case-sensitive ("eth0" and "ETH0" are two links),
// so HostKey keeps it as written, as OriginOf and the dialer's proxy key
// do: two links are two hosts, with their own per-host state. The
// address is still in its canonical form. A throttle pattern naming the
// zone matches that link only.
func TestHostKeyZoneAsWritten(t *testing.T) {
	for in, want := range map[string]string{
		"https://[fe80::1%25ETH0]/":         "[fe80::1%ETH0]",
		"https://[FE80:0::1%25ETH0]:443/":   "[fe80::1%ETH0]",
		"https://[fe80::1%25eth0]/":         "[fe80::1%eth0]",
		"https://[FE80::1%25Eth0]:8443/":    "[fe80::1%Eth0]:8443",
		"https://[fe80:0:0::1%25en0]:0443/": "[fe80::1%en0]",
	} {
		if got := transport.HostKey(mustURL(t, in)); got != want {
			t.Errorf("HostKey(%s) = %q, want %q", in, got, want)
		}
	}
	upper := transport.HostKey(mustURL(t, "https://[fe80::1%25ETH0]/"))
	if !transport.MatchHostPattern("[fe80::1%ETH0]", upper) || !transport.MatchHostPattern("[FE80::1%ETH0]", upper) {
		t.Errorf("pattern [fe80::1%%ETH0] does not match %q", upper)
	}
	if transport.MatchHostPattern("[fe80::1%eth0]", upper) || transport.MatchHostPattern("[fe80::1%ETH0]", "[fe80::1%eth0]") {
		t.Error("a pattern for one link matches another")
	}
	for _, ok := range []string{"[fe80::1%ETH0]", "[FE80::1%ETH0]:8443", "[fe80::1%eth0]"} {
		if err := transport.CheckHostPattern(ok); err != nil {
			t.Errorf("CheckHostPattern(%q): %v", ok, err)
		}
	}
}

// A zone in any case, in a canonical address with a default or no port,
// costs no allocation.
func TestHostKeyZoneAllocs(t *testing.T) {
	for _, s := range []string{"https://[fe80::1%25eth0]/", "https://[fe80::1%25ETH0]/", "https://[fe80::1%25ETH0]:8443/"} {
		u := mustURL(t, s)
		if n := testing.AllocsPerRun(100, func() { transport.HostKey(u) }); n != 0 {
			t.Errorf("HostKey(%s) allocates %v times", s, n)
		}
	}
}
