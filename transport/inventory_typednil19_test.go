package transport_test

import (
	"errors"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/securecall/securecall/transport"
)

// TestInventoryTypedNilMeterProviderRefused: an InventoryConfig.MeterProvider
// holding a nil pointer (a *sdkmetric.MeterProvider never assigned) is a
// *ConfigError naming MeterProvider, as NewAudit refuses a Logger with a
// nil handler; NewInventory panicked (a nil pointer dereference in the
// SDK's Meter) instead of returning an error.
func TestInventoryTypedNilMeterProviderRefused(t *testing.T) {
	var mp *sdkmetric.MeterProvider
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("NewInventory panicked: %v", r)
			}
		}()
		_, err = transport.NewInventory(transport.InventoryConfig{MeterProvider: mp})
	}()
	ce, ok := errors.AsType[*transport.ConfigError](err)
	if !ok || ce.Option != "MeterProvider" {
		t.Fatalf("NewInventory with a nil *sdkmetric.MeterProvider: err = %v, want a *ConfigError naming MeterProvider", err)
	}
}
