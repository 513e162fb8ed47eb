package transport_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// With the no-op tracer provider no span is started, yet the stack behaves
// as the no-op tracer does: a caller's span context (remote, or of a
// recording span of another provider) is propagated, and a recording span
// in the caller's context gets nothing from the layers (no attributes, no
// events).
func TestTracingOffBehavesLikeNoopTracer(t *testing.T) {
	cfg := transport.TraceConfig{
		TracerProvider: tracenoop.NewTracerProvider(),
		Propagator:     propagation.TraceContext{},
	}
	var got http.Header
	base := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		transport.AddEvent(r.Context(), "inner.event")
		return transporttest.NewResponder().RoundTrip(r)
	})
	stack := transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(base, cfg)), cfg)

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xa}, SpanID: trace.SpanID{0xb}, TraceFlags: trace.FlagsSampled, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
	resp, err := stack.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tp := got.Get("Traceparent"); tp != "00-0a000000000000000000000000000000-0b00000000000000-01" {
		t.Fatalf("traceparent %q: the caller's remote context was not propagated", tp)
	}
	if len(req.Header) != 0 {
		t.Fatal("the caller's request was modified")
	}

	// A recording span of another provider: untouched, and propagated as
	// the no-op tracer does (its span context, in a non-recording span).
	rig := newOtelRig(t, nil)
	ctx, span := rig.tp.Tracer("caller").Start(context.Background(), "caller")
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
	resp, err = stack.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	span.End()
	if want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"; got.Get("Traceparent") != want {
		t.Fatalf("traceparent %q, want the caller's span %q (as the no-op tracer propagates it)", got.Get("Traceparent"), want)
	}
	spans := rig.ended()
	if len(spans) != 1 || len(spans[0].Attributes) != 0 || len(spans[0].Events) != 0 {
		t.Fatalf("the caller's span got attributes or events: %+v", spans)
	}
}
