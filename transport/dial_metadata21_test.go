package transport_test

import (
	"errors"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerMoreMetadataNotOpenedByBroadAllow: the metadata services
// of Scaleway (169.254.42.42, fd00:42::42), Tencent Cloud (169.254.0.23,
// the address of metadata.tencentyun.com), Akamai/Linode (IPv6
// fd00:a9fe:a9fe::1; IPv4 169.254.169.254, already listed) and Oracle
// Cloud Classic (192.0.0.192) were missing from the list a broad
// AllowPrefixes entry (169.254.0.0/16, fd00::/8, 192.0.0.0/24) does not
// open: each is denied by default (link-local, unique-local, IETF), but
// such an entry opened them where it kept 169.254.169.254 denied. They now
// stay denied unless an entry names exactly that address; the addresses
// next to them stay allowed by the broad entry.
func TestSafeDialerMoreMetadataNotOpenedByBroadAllow(t *testing.T) {
	meta := []string{"169.254.42.42:80", "169.254.0.23:80", "[fd00:42::42]:80", "[fd00:a9fe:a9fe::1]:80", "192.0.0.192:80", "[::ffff:169.254.0.23]:80", "[64:ff9b::a9fe:2a2a]:80"}
	near := []string{"169.254.42.41:80", "169.254.0.24:80", "[fd00:42::43]:80", "[fd00:a9fe:a9fe::2]:80", "192.0.0.193:80", "[64:ff9b::a9fe:2a2b]:80"}
	broad := prefixes("169.254.0.0/16", "fd00::/8", "192.0.0.0/24", "64:ff9b::/96")
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: broad})
	for _, s := range meta {
		if err := sd.Check(netip.MustParseAddrPort(s)); !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
			t.Errorf("broad allow: Check(%s) = %v, want a refusal", s, err)
		}
	}
	for _, s := range near {
		if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
			t.Errorf("broad allow: Check(%s) = %v, want allowed", s, err)
		}
	}
	// Named exactly: the opt-in.
	named := safeDialer(t, transport.DialConfig{AllowPrefixes: append(broad, prefixes("169.254.42.42/32", "169.254.0.23/32", "fd00:42::42/128", "fd00:a9fe:a9fe::1/128", "192.0.0.192/32")...)})
	for _, s := range meta {
		if err := named.Check(netip.MustParseAddrPort(s)); err != nil {
			t.Errorf("named: Check(%s) = %v, want allowed", s, err)
		}
	}
}
