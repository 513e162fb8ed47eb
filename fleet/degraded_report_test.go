package fleet

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// The stores without a context of their own (cooldowns, breaker state)
// implement transport.DegradationReporter: while Redis is down, the layer
// consulting them adds EventDegraded to the request's span.
func TestStoresReportDegradedOnSpan(t *testing.T) {
	srv := redistest.Start(t)
	s := newCooldowns(t, srv, CooldownOptions{Policy: FailClosed, RefreshInterval: time.Nanosecond, ProbeInterval: time.Hour})
	var _ transport.DegradationReporter = s
	var _ transport.DegradationReporter = (*BreakerStore)(nil)

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	report := func() {
		ctx, span := tp.Tracer("t").Start(context.Background(), "request")
		s.ReportDegraded(ctx)
		span.End()
	}
	s.CooldownUntil("api.example.com")
	report()
	srv.Kill()
	s.CooldownUntil("api.example.com") // its background refresh fails: Redis marked down
	settleCooldowns(t, s)
	report()
	got := spans.GetSpans()
	if len(got) != 2 || len(got[0].Events) != 0 {
		t.Fatalf("healthy: events %v", got[0].Events)
	}
	if len(got[1].Events) != 1 || got[1].Events[0].Name != EventDegraded {
		t.Fatalf("degraded: events %v", got[1].Events)
	}
	attrs := map[string]string{}
	for _, a := range got[1].Events[0].Attributes {
		attrs[string(a.Key)] = a.Value.AsString()
	}
	if attrs[string(StoreKey)] != "cooldown" || attrs[string(PolicyKey)] != FailClosed.String() {
		t.Errorf("event attributes %v", attrs)
	}
}

// The stores take the layers' clock reading.
var (
	_ transport.CooldownStoreAt = (*CooldownStore)(nil)
	_ transport.BreakerStoreAt  = (*BreakerStore)(nil)
)
