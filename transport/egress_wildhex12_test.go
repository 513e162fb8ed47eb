package transport_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestEgressWildcardCannotCoverLegacyIPv4: a wildcard whose domain ends in
// a number cannot cover IP addresses, hex numbers included: "127.0.0x1"
// is 127.0.0.1 to inet_aton, getaddrinfo, a proxy and the WHATWG URL
// parser (as HostKey and GuardProxy read it), so "*.0.0x1" would let a
// request to a loopback address through the allowlist as a name.
func TestEgressWildcardCannotCoverLegacyIPv4(t *testing.T) {
	for _, entry := range []string{"*.0.0x1", "*.1.0X7F", "*.0.0x"} {
		p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{entry}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Allow[0]" || !strings.Contains(err.Error(), "cannot cover IP addresses") {
			if p != nil && p.Allows(&url.URL{Scheme: "https", Host: "127.0.0x1"}) {
				t.Errorf("%q: allows https://127.0.0x1/ (127.0.0.1)", entry)
			}
			t.Errorf("%q: err = %v, want a *ConfigError for Allow[0]", entry, err)
		}
	}
	// A name whose last label merely starts with digits or "0x" is a name.
	for _, entry := range []string{"*.example.0xz", "*.corp.1a"} {
		if _, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{entry}}); err != nil {
			t.Errorf("%q: %v", entry, err)
		}
	}
}
