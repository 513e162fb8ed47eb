package transport_test

import (
	"errors"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/transport"
)

// A *sdkmetric.MeterProvider or *sdktrace.TracerProvider variable never
// assigned, given as a configuration's provider, is not a nil interface:
// NewBase, NewCooldownsWith and NewTokenRequests panicked on it (the
// package's rule: a constructor returns an error, never panics; client.New
// refuses such a provider in WithMeterProvider and WithTracerProvider).
// Each is now a *ConfigError naming the field, as NewInventory's is.
func TestProvidersTypedNilRefused(t *testing.T) {
	var mp *sdkmetric.MeterProvider
	var tp *sdktrace.TracerProvider
	check := func(what, field string, f func() error) {
		t.Helper()
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = errors.New("panicked")
				}
			}()
			err = f()
		}()
		wantZeroConfigErr(t, what, err, field)
	}
	check("NewBase", "MeterProvider", func() error {
		_, err := transport.NewBase(transport.BaseConfig{MeterProvider: mp})
		return err
	})
	check("NewCooldownsWith", "CooldownsConfig.MeterProvider", func() error {
		_, err := transport.NewCooldownsWith(transport.CooldownsConfig{MeterProvider: mp})
		return err
	})
	check("NewTokenRequests (meter)", "Trace.MeterProvider", func() error {
		_, err := transport.NewTokenRequests(nil, transport.TokenRequestConfig{Trace: &transport.TraceConfig{MeterProvider: mp}})
		return err
	})
	check("NewTokenRequests (tracer)", "Trace.TracerProvider", func() error {
		_, err := transport.NewTokenRequests(nil, transport.TokenRequestConfig{Trace: &transport.TraceConfig{TracerProvider: tp}})
		return err
	})
}
