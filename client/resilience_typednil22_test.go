package client_test

import (
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// docs/configuration.md: New never panics on user input. A WithResilience
// configuration holding a nil *sdkmetric.MeterProvider (a variable never
// assigned) made New panic in the retry layer's constructor, and a nil
// *transport.Cooldowns was accepted, every call then panicking, where
// WithCooldownStore refuses it. Both are a *ConfigError naming
// WithResilience.
func TestWithResilienceTypedNilRefused(t *testing.T) {
	var mp *sdkmetric.MeterProvider
	var cd *transport.Cooldowns
	rc := transport.StandardPreset()
	rc.Retry.MeterProvider = mp
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("New panicked: %v", r)
			}
		}()
		wantConfigError(t, "WithResilience", client.WithResilience(rc))
	}()
	rc = transport.StandardPreset()
	rc.Retry.Cooldowns = cd
	wantConfigError(t, "WithResilience", client.WithResilience(rc))
}
