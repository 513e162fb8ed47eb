package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A custom Fleet whose method returns a store not made by its constructor
// (here a zero transport.Cooldowns) was refused by the resolved
// configuration with a *ConfigError naming "WithResilience" and the
// layer's field (RetryConfig.Cooldowns), an option the caller never used.
// It names WithFleet, the option that supplied the store, and the method.
func TestWithFleetZeroStoreNamesWithFleet(t *testing.T) {
	_, err := client.New(client.WithOrigins("https://api.example"),
		client.WithFleet(&memFleet{cool: new(transport.Cooldowns)}))
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithFleet" {
		t.Fatalf("err = %v, want a *ConfigError naming WithFleet", err)
	}
	if msg := ce.Error(); !strings.Contains(msg, "CooldownStore") || !strings.Contains(msg, "not made by NewCooldowns") ||
		strings.Contains(msg, "RetryConfig.Cooldowns") || strings.Contains(msg, "WithResilience") {
		t.Errorf("message %q: want it to name the fleet's CooldownStore and the reason, not RetryConfig.Cooldowns or WithResilience", msg)
	}
}
