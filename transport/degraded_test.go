package transport_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// degradingStore is a shared store whose backend can be "down": it then
// reports degraded mode on the request's span.
type degradingStore struct {
	down    atomic.Bool
	reports atomic.Int32
}

func (s *degradingStore) ReportDegraded(ctx context.Context) {
	s.reports.Add(1)
	if s.down.Load() {
		transport.AddEvent(ctx, "store.degraded")
	}
}
func (s *degradingStore) CooldownUntil(string) time.Time { return time.Time{} }
func (s *degradingStore) SetCooldown(string, time.Time)  {}
func (s *degradingStore) OpenUntil(string) time.Time     { return time.Time{} }
func (s *degradingStore) SetOpenUntil(string, time.Time) {}

// The retry layer (cooldown store) and the breaker layer (breaker store)
// let a store that implements DegradationReporter report degraded mode on
// the request's span, once per request.
func TestSharedStoreReportsDegradedOnSpan(t *testing.T) {
	for _, layer := range []string{"retry", "breaker"} {
		t.Run(layer, func(t *testing.T) {
			store := &degradingStore{}
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
			var rt http.RoundTripper
			var err error
			if layer == "retry" {
				rt, err = transport.NewRetry(next, transport.RetryConfig{Cooldowns: store})
			} else {
				rt, err = transport.NewBreaker(next, transport.BreakerConfig{Store: store})
			}
			if err != nil {
				t.Fatal(err)
			}
			spans := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
			defer tp.Shutdown(context.Background())
			call := func() {
				ctx, span := tp.Tracer("t").Start(context.Background(), "call")
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				span.End()
			}
			call()
			store.down.Store(true)
			call()
			got := spans.GetSpans()
			if len(got) != 2 || len(got[0].Events) != 0 || len(got[1].Events) != 1 || got[1].Events[0].Name != "store.degraded" {
				t.Fatalf("events: healthy %v, degraded %v", got[0].Events, got[1].Events)
			}
			if n := store.reports.Load(); n != 2 {
				t.Errorf("ReportDegraded called %d times for 2 requests", n)
			}
		})
	}
}

// clockedStore takes the layer's clock reading (CooldownStoreAt,
// BreakerStoreAt); the plain methods must then not be called.
type clockedStore struct {
	at, plain atomic.Int32
}

func (s *clockedStore) CooldownUntil(string) time.Time { s.plain.Add(1); return time.Time{} }
func (s *clockedStore) CooldownUntilAt(_ string, now time.Time) time.Time {
	if !now.IsZero() {
		s.at.Add(1)
	}
	return time.Time{}
}
func (s *clockedStore) SetCooldown(string, time.Time) {}
func (s *clockedStore) OpenUntil(string) time.Time    { s.plain.Add(1); return time.Time{} }
func (s *clockedStore) OpenUntilAt(_ string, now time.Time) time.Time {
	if !now.IsZero() {
		s.at.Add(1)
	}
	return time.Time{}
}
func (s *clockedStore) SetOpenUntil(string, time.Time) {}

// The retry and breaker layers hand a store that takes it their own clock
// reading instead of having it read the clock again.
func TestSharedStoreGetsLayerClock(t *testing.T) {
	for _, layer := range []string{"retry", "breaker"} {
		t.Run(layer, func(t *testing.T) {
			store := &clockedStore{}
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			var rt http.RoundTripper
			var err error
			if layer == "retry" {
				rt, err = transport.NewRetry(next, transport.RetryConfig{Cooldowns: store})
			} else {
				rt, err = transport.NewBreaker(next, transport.BreakerConfig{Store: store})
			}
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if store.at.Load() != 1 || store.plain.Load() != 0 {
				t.Fatalf("At calls %d, plain calls %d", store.at.Load(), store.plain.Load())
			}
		})
	}
}
