package client_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestAllowedNetworksIPv4MappedPrefixRefused: WithAllowedNetworks accepted
// a prefix written in the IPv4-mapped IPv6 form ("::ffff:10.0.0.0/104")
// and then allowed nothing: Go dials an IPv4-mapped address over IPv4, and
// the dialer checks the IPv4 address, which the IPv6 prefix does not hold
// (transport's TestSafeDialerMappedAddressDialedAsIPv4). The internal API the
// caller meant to allow was refused with ErrEgressDenied at run time. Such
// a prefix is now a *ConfigError naming WithAllowedNetworks and the IPv4
// prefix to write; other IPv6 prefixes are accepted as before.
func TestAllowedNetworksIPv4MappedPrefixRefused(t *testing.T) {
	for p, want := range map[string]string{
		"::ffff:10.0.0.0/104":  "10.0.0.0/8",
		"::ffff:127.0.0.1/128": "127.0.0.1/32",
		"::ffff:0.0.0.0/96":    "0.0.0.0/0",
	} {
		_, err := client.New(client.WithAllowedNetworks(netip.MustParsePrefix(p)))
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAllowedNetworks" || !strings.Contains(err.Error(), want) {
			t.Errorf("WithAllowedNetworks(%s) = %v, want a *ConfigError naming WithAllowedNetworks and %s", p, err, want)
		}
	}
	for _, p := range []string{"10.0.0.0/8", "fd00::/8", "::/0", "::ffff:0:0/95"} {
		c, err := client.New(client.WithAllowedNetworks(netip.MustParsePrefix(p)))
		if err != nil {
			t.Errorf("WithAllowedNetworks(%s) = %v, want it accepted", p, err)
			continue
		}
		c.Close()
	}
}
