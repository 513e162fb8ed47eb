package transport_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestEgressEntryInvalidIPv4: an entry whose last label is a number but
// which is no valid IPv4 address ("256.1.1.1", "1.2.3.999", "1.2.3.4.5")
// was taken as a DNS name. net/url takes it as a name too, but Go's
// resolver looks no all-numeric name up ("no such host", no query), the
// WHATWG URL parser and a proxy's inet_aton read it as a failed address,
// and GuardProxy refuses it: it names nothing. NewEgressPolicy refuses it
// with a ConfigError naming the entry, as it refuses a wildcard over
// such names. A name with a number in a label that is not the last stays a
// name.
func TestEgressEntryInvalidIPv4(t *testing.T) {
	for _, in := range []string{"256.1.1.1", "1.2.3.999", "1.2.3.999:8443", "https://256.1.1.1", "1.2.3.4.5", "0x100.0.0.1", "1.2.3.0x1ff", "999", "256.1.1.1."} {
		_, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.com", in}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Allow[1]" {
			t.Errorf("entry %q: %v, want a ConfigError for Allow[1]", in, err)
		}
	}
	for _, ok := range []string{"1.2.3.4", "255.255.255.255", "1.example.com", "api.999.example.com", "0x7f.example", "[::1]"} {
		if _, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{ok}}); err != nil {
			t.Errorf("entry %q: %v", ok, err)
		}
	}
}
