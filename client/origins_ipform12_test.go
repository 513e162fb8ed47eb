package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestOriginIPNotInStandardFormRefused: an origin or redirect origin
// naming an IP address out of its standard form ("https://127.1",
// "https://[0::1]") matched only request URLs spelled the same way, so
// credentials and redirects scoped to it missed the address written
// normally (and Go's resolver dials no legacy IPv4 form). New refuses
// it with a ConfigError naming the option and the origin to write.
func TestOriginIPNotInStandardFormRefused(t *testing.T) {
	for _, c := range []struct {
		opt  client.Option
		name string
		want string
	}{
		{client.WithOrigins("https://127.1"), "WithOrigins", "https://127.0.0.1"},
		{client.WithOrigins("https://api.example.com", "https://2130706433:8443"), "WithOrigins", "https://127.0.0.1:8443"},
		{client.WithRedirectOrigins("https://0x7f.0.0.1"), "WithRedirectOrigins", "https://127.0.0.1"},
		{client.WithRedirectOrigins("https://[0::1]:8443"), "WithRedirectOrigins", "https://[::1]:8443"},
		{client.WithRedirectOrigins("https://[::ffff:7f00:1]"), "WithRedirectOrigins", "https://[::ffff:127.0.0.1]"},
	} {
		_, err := client.New(c.opt)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != c.name || !strings.Contains(err.Error(), `"`+c.want+`"`) {
			t.Errorf("%s: %v, want a ConfigError naming %s and %q", c.name, err, c.name, c.want)
		}
	}
}

// An allowlist entry "[0::1]" is compared as the address ::1, so a pin
// set for "::1" pins a host the client reaches: New takes it.
func TestPinsIPv6EntryNotInStandardForm(t *testing.T) {
	if _, err := client.New(client.WithEgressAllowlist("[0::1]:8443"), client.WithPins(pinSet(t, "::1"))); err != nil {
		t.Fatal(err)
	}
}

// An allowlist entry spelling an IPv4 address in a legacy form ("127.1")
// was taken as a name that only a URL spelled the same way matched: New
// refuses it, naming the option and the dotted-decimal form.
func TestEgressAllowlistLegacyIPv4Refused(t *testing.T) {
	_, err := client.New(client.WithEgressAllowlist("api.example.com", "0x7f.0.0.1:8443"))
	var ce *client.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "WithEgressAllowlist") || !strings.Contains(err.Error(), `"127.0.0.1"`) {
		t.Errorf("New: %v, want a ConfigError naming WithEgressAllowlist and \"127.0.0.1\"", err)
	}
}
