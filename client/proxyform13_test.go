package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestAllowedProxyLegacyIPv4: WithAllowedProxies("127.1:3128") is a
// ConfigError for WithAllowedProxies naming "127.0.0.1:3128", as
// WithOrigins and WithEgressAllowlist refuse a legacy IPv4 form.
func TestAllowedProxyLegacyIPv4(t *testing.T) {
	for _, p := range []string{"127.1:3128", "0x7f.1:3128"} {
		_, err := client.New(client.WithAllowedProxies(p), client.WithEnvironmentProxy())
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAllowedProxies" || !strings.Contains(err.Error(), `"127.0.0.1:3128"`) {
			t.Errorf("WithAllowedProxies(%q): %v, want a ConfigError for WithAllowedProxies naming \"127.0.0.1:3128\"", p, err)
		}
	}
}
