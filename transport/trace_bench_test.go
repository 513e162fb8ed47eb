package transport_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/transport"
)

// discardExporter drops every batch: the benchmark measures the client
// side of tracing, not an exporter.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// stubBody is an empty response body that must be closed, so the spans end
// through the body wrapper as they do with a real body.
type stubBody struct{}

func (stubBody) Read([]byte) (int, error) { return 0, io.EOF }
func (stubBody) Close() error             { return nil }

// stubTransport answers every request with 200 and a stubBody.
var stubTransport = roundTripperFunc(func(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: stubBody{}, ContentLength: -1, Request: req}, nil
})

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkTrace measures the trace layers over a stub transport, with a
// real SDK (always sampled, batch span processor to a discarding exporter,
// a meter provider with a reader) and with no-op providers. Subtract
// "bare" from "call", and "scope" from "attempt" and "stack", for the
// layers' own cost (the scope's one Request.Clone belongs to the stack).
//
//	go test -run '^$' -bench BenchmarkTrace -benchmem ./transport/
func BenchmarkTrace(b *testing.B) {
	ctx := context.Background()
	providers := []struct {
		name string
		tp   func() (trace.TracerProvider, func())
		mp   func() (metric.MeterProvider, func())
	}{
		{"sdk", func() (trace.TracerProvider, func()) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			return tp, func() { _ = tp.Shutdown(ctx) }
		}, func() (metric.MeterProvider, func()) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			return mp, func() { _ = mp.Shutdown(ctx) }
		}},
		{"noop", func() (trace.TracerProvider, func()) { return tracenoop.NewTracerProvider(), func() {} },
			func() (metric.MeterProvider, func()) { return metricnoop.NewMeterProvider(), func() {} }},
	}
	for _, p := range providers {
		b.Run(p.name, func(b *testing.B) {
			tp, stopT := p.tp()
			defer stopT()
			mp, stopM := p.mp()
			defer stopM()
			cfg := transport.TraceConfig{
				TracerProvider: tp, MeterProvider: mp,
				Propagator: propagation.TraceContext{},
				Redaction:  &redact.Policy{QueryKeys: []string{"page"}},
			}
			layers := []struct {
				name string
				rt   http.RoundTripper
			}{
				{"bare", stubTransport},
				{"scope", transport.NewAttemptScope(stubTransport)},
				{"call", transport.NewCallTrace(stubTransport, cfg)},
				{"attempt", transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, cfg))},
				{"stack", transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, cfg)), cfg)},
			}
			for _, l := range layers {
				b.Run(l.name, func(b *testing.B) {
					req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?page=2&id=7", nil)
					req.Header.Set("Accept", "application/json")
					b.ReportAllocs()
					for b.Loop() {
						resp, err := l.rt.RoundTrip(req)
						if err != nil {
							b.Fatal(err)
						}
						resp.Body.Close()
					}
				})
			}
			b.Run("stack/parallel", func(b *testing.B) {
				rt := transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, cfg)), cfg)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?page=2&id=7", nil)
					for pb.Next() {
						resp, err := rt.RoundTrip(req)
						if err != nil {
							b.Error(err)
							return
						}
						resp.Body.Close()
					}
				})
			})
		})
	}
}

// nopProcessor receives the ended spans (so the SDK snapshots them, as it
// does for a batch processor) and drops them, without a background
// goroutine whose allocations would blur the count.
type nopProcessor struct{}

func (nopProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (nopProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (nopProcessor) Shutdown(context.Context) error                  { return nil }
func (nopProcessor) ForceFlush(context.Context) error                { return nil }

// TestTraceAllocs pins the allocations the trace layers add per call, so
// a regression shows up in CI without timing: with a recording SDK, and
// with no-op providers.
func TestTraceAllocs(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(nopProcessor{}))
	defer tp.Shutdown(context.Background())
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	sdk := transport.TraceConfig{TracerProvider: tp, MeterProvider: mp, Propagator: propagation.TraceContext{}}
	noop := transport.TraceConfig{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider(),
		Propagator: propagation.TraceContext{}}
	allocs := func(rt http.RoundTripper) float64 {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?page=2", nil)
		req.Header.Set("Accept", "application/json")
		return testing.AllocsPerRun(200, func() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}
	bare := allocs(stubTransport)
	scope := allocs(transport.NewAttemptScope(stubTransport))
	for _, c := range []struct {
		name      string
		rt        http.RoundTripper
		base, max float64
	}{
		// SDK: call = callCtx, WithContext, span, span ctx, url.full,
		// attributes, snapshot. Attempt = span, span ctx, WithContext,
		// body wrapper, attributes, snapshot, traceparent (2) + header map growth.
		{"sdk/call", transport.NewCallTrace(stubTransport, sdk), bare, 7},
		{"sdk/attempt", transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, sdk)), scope, 9},
		{"sdk/stack", transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, sdk)), sdk), scope, 15},
		// No-op: the contexts and the request copies only.
		{"noop/call", transport.NewCallTrace(stubTransport, noop), bare, 3},
		{"noop/attempt", transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, noop)), scope, 2},
		{"noop/stack", transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(stubTransport, noop)), noop), scope, 5},
	} {
		if traceRaceEnabled && strings.HasPrefix(c.name, "sdk/") {
			continue // the SDK pools: unstable counts under -race
		}
		got := allocs(c.rt) - c.base
		t.Logf("%s: %v allocations per call", c.name, got)
		if got > c.max {
			t.Errorf("%s: %v allocations per call over its baseline, want <= %v", c.name, got, c.max)
		}
	}
}
