package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panickyCooldowns is a fleet CooldownStore with a bug: its read panics.
type panickyCooldowns struct{}

func (panickyCooldowns) CooldownUntil(string) time.Time { panic("store bug") }
func (panickyCooldowns) SetCooldown(string, time.Time)  {}

// panickyBreakerStore is a fleet BreakerStore with a bug: its read
// panics.
type panickyBreakerStore struct{}

func (panickyBreakerStore) OpenUntil(string) time.Time     { panic("store bug") }
func (panickyBreakerStore) SetOpenUntil(string, time.Time) {}

// TestFleetStorePanicBeforeSendClosesBody: a fleet CooldownStore
// (RetryConfig.Cooldowns) or BreakerStore (BreakerConfig.Store) of the
// caller's whose read, made before the request is handed on, panicked (a
// bug in it) left the request's body unclosed, which RoundTrip must close
// on every path: a caller that recovers the panic with an io.Pipe body had
// its writer blocked for ever. The body is closed, the panic goes on
// unchanged, and nothing is sent.
func TestFleetStorePanicBeforeSendClosesBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		layer func(next http.RoundTripper) (http.RoundTripper, error)
	}{
		{"NewRetry Cooldowns", func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewRetry(next, transport.RetryConfig{Cooldowns: panickyCooldowns{}})
		}},
		{"NewBreaker Store", func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewBreaker(next, transport.BreakerConfig{Store: panickyBreakerStore{}})
		}},
		{"NewBreaker Store in an attempt", func(next http.RoundTripper) (http.RoundTripper, error) {
			rt, err := transport.NewBreaker(next, transport.BreakerConfig{Store: panickyBreakerStore{}})
			if err != nil {
				return nil, err
			}
			return transport.NewRetry(rt, transport.RetryConfig{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt, err := tc.layer(next)
			if err != nil {
				t.Fatal(err)
			}
			checkPanicBeforeSend(t, rt, next, "store bug")
		})
	}
}
