package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestEgressEntryLegacyIPv4: an allowlist entry spelling an IPv4 address
// in a legacy form was taken as a host name that only a URL spelled the
// same way matched; NewEgressPolicy refuses it with a ConfigError naming
// the entry and the dotted-decimal form. An IPv6 literal out of its
// standard form is compared as an address, so it is taken.
func TestEgressEntryLegacyIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"127.1":              "127.0.0.1",
		"2130706433":         "127.0.0.1",
		"0x7f.0.0.1":         "127.0.0.1",
		"0177.0.0.1:8443":    "127.0.0.1",
		"https://127.1:*":    "127.0.0.1",
		"http://10.1":        "10.0.0.1",
		"https://0x0a000001": "10.0.0.1",
	} {
		_, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.com", in}, AllowHTTP: true})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Allow[1]" || !strings.Contains(err.Error(), `"`+want+`"`) {
			t.Errorf("entry %q: %v, want a ConfigError for Allow[1] naming %q", in, err, want)
		}
	}
	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"[0::1]", "127.0.0.1", "1.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://[::1]/", "https://[0:0::1]/", "https://127.0.0.1/", "https://1.example.com/"} {
		if err := p.CheckURL(mustURL(t, u)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
