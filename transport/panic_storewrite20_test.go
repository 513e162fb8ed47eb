package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panickyCooldownWrites is a fleet CooldownStore with a bug: its write
// panics.
type panickyCooldownWrites struct{}

func (panickyCooldownWrites) CooldownUntil(string) time.Time { return time.Time{} }
func (panickyCooldownWrites) SetCooldown(string, time.Time)  { panic("store bug") }

// panickyBreakerWrites is a fleet BreakerStore with a bug: its write
// panics.
type panickyBreakerWrites struct{}

func (panickyBreakerWrites) OpenUntil(string) time.Time     { return time.Time{} }
func (panickyBreakerWrites) SetOpenUntil(string, time.Time) { panic("store bug") }

// TestFleetStoreWritePanicClosesResponse: a fleet CooldownStore whose
// SetCooldown panicked (a bug in it) when a 429 asked every client to
// wait, or a BreakerStore whose SetOpenUntil panicked when a 500 opened
// the breaker, unwound through the layer with the attempt's response in
// hand: its body was never closed, so its connection leaked (and a
// throttle's concurrency slot below, which the body holds, was lost to
// the host). The response is closed and the panic goes on unchanged, as
// for a panicking CheckRetry.
func TestFleetStoreWritePanicClosesResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer transporttest.Step
		layer  func(next http.RoundTripper) (http.RoundTripper, error)
	}{
		{"NewRetry Cooldowns", transporttest.Respond(429, "slow down", "Retry-After", "1"), func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewRetry(next, transport.RetryConfig{Cooldowns: panickyCooldownWrites{}})
		}},
		{"NewBreaker Store", transporttest.Respond(500, "down"), func(next http.RoundTripper) (http.RoundTripper, error) {
			rt, err := transport.NewBreaker(next, transport.BreakerConfig{Store: panickyBreakerWrites{}, ConsecutiveFailures: 1})
			if err != nil {
				return nil, err
			}
			return transport.NewAttemptScope(rt), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(tc.answer)
			rt, err := tc.layer(next)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != "store bug" {
				t.Fatalf("panic %v reached the caller, want the store's", panicked)
			}
			if next.Calls() != 1 {
				t.Fatalf("%d requests sent, want 1", next.Calls())
			}
			if err := next.Unclosed(); err != nil {
				t.Errorf("the response in hand when the store panicked: %v", err)
			}
		})
	}
}
