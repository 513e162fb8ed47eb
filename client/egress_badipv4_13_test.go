package client_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestEgressAllowlistInvalidIPv4: WithEgressAllowlist("256.1.1.1") is a
// ConfigError naming the option (see transport.TestEgressEntryInvalidIPv4).
func TestEgressAllowlistInvalidIPv4(t *testing.T) {
	for _, p := range []string{"256.1.1.1", "1.2.3.999"} {
		_, err := client.New(client.WithEgressAllowlist(p))
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithEgressAllowlist" {
			t.Errorf("WithEgressAllowlist(%q): %v, want a ConfigError for WithEgressAllowlist", p, err)
		}
	}
}
