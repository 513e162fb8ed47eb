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
