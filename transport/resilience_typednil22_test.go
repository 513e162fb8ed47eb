package transport_test

import (
	"errors"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/securecall/securecall/transport"
)

// A nil pointer held in an interface field of the resilience layers'
// configurations (a *transport.Cooldowns or *sdkmetric.MeterProvider
// variable never assigned) is not a nil interface: NewRetry, NewBreaker
// and NewThrottle panicked on the MeterProvider, and took the stores,
// whose first call then panicked. As docs/errors.md says of nil pointers
// in interfaces, each is now a *ConfigError naming its field, from the
// layer's constructor and from NewResilience.
func TestResilienceTypedNilFieldsRefused(t *testing.T) {
	var mp *sdkmetric.MeterProvider
	var cd *transport.Cooldowns
	var store *nilBreakerStore
	var quota *nilQuota
	cases := []struct {
		field string
		set   func(*transport.ResilienceConfig)
	}{
		{"RetryConfig.Cooldowns", func(r *transport.ResilienceConfig) { r.Retry.Cooldowns = cd }},
		{"RetryConfig.MeterProvider", func(r *transport.ResilienceConfig) { r.Retry.MeterProvider = mp }},
		{"BreakerConfig.Store", func(r *transport.ResilienceConfig) { r.Breaker.Store = store }},
		{"BreakerConfig.MeterProvider", func(r *transport.ResilienceConfig) { r.Breaker.MeterProvider = mp }},
		{"ThrottleConfig.Quota", func(r *transport.ResilienceConfig) { r.Throttle.Quota = quota }},
		{"ThrottleConfig.MeterProvider", func(r *transport.ResilienceConfig) { r.Throttle.MeterProvider = mp }},
	}
	for _, tc := range cases {
		rc := transport.StandardPreset()
		tc.set(&rc)
		check := func(what string, f func() error) {
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
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.field {
				t.Errorf("%s with a nil %s: %v, want a *ConfigError naming %s", what, tc.field, err, tc.field)
			}
		}
		check("NewResilience", func() error { _, err := transport.NewResilience(nil, rc); return err })
		check("Validate", rc.Validate)
		switch tc.field[:5] {
		case "Retry":
			check("NewRetry", func() error { _, err := transport.NewRetry(nil, rc.Retry); return err })
		case "Break":
			check("NewBreaker", func() error { _, err := transport.NewBreaker(nil, rc.Breaker); return err })
		case "Throt":
			check("NewThrottle", func() error { _, err := transport.NewThrottle(nil, rc.Throttle); return err })
		}
	}
}

type nilBreakerStore struct{ transport.BreakerStore }
type nilQuota struct{ transport.SharedQuota }
