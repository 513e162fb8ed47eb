package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerProxyLegacyIPv4: a proxy listed with an IPv4 address in a
// legacy form ("127.1:3128") was taken as a name: it matched only a proxy
// URL spelled the same way, which Go's resolver dials nowhere, so the
// proxy at 127.0.0.1 was refused at dial time. NewSafeDialer refuses it,
// as ParseOrigin and the egress allowlist do, with a ConfigError naming
// the entry and the address:port to write.
func TestSafeDialerProxyLegacyIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"127.1:3128":       "127.0.0.1:3128",
		"0x7f.1:3128":      "127.0.0.1:3128",
		"2130706433:8080":  "127.0.0.1:8080",
		"0177.0.0.1:3128":  "127.0.0.1:3128",
		"0X7F.0.0.1.:3128": "127.0.0.1:3128",
		"10.1:3128":        "10.0.0.1:3128",
	} {
		_, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{"proxy.internal:3128", in}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Proxies[1]" || !strings.Contains(err.Error(), `"`+want+`"`) {
			t.Errorf("proxy %q: %v, want a ConfigError for Proxies[1] naming %q", in, err, want)
		}
	}
	for _, ok := range []string{"127.0.0.1:3128", "[::1]:3128", "[::ffff:127.0.0.1]:3128", "proxy.internal:3128", "0x7f.example:3128", "1.proxy.internal:3128"} {
		if _, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{ok}}); err != nil {
			t.Errorf("proxy %q: %v", ok, err)
		}
	}
}
