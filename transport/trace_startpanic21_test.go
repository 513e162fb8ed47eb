package transport_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
	"go.opentelemetry.io/otel/trace"
)

// panickyTracerProvider is a TracerProvider of the caller's whose tracers
// have a bug: Start panics on the Nth span (1-based), the others are the
// real SDK's.
type panickyTracerProvider struct {
	trace.TracerProvider
	nth    int64
	starts *atomic.Int64
}

func (p panickyTracerProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return panickyTracer{p.TracerProvider.Tracer(name, opts...), p}
}

type panickyTracer struct {
	trace.Tracer
	p panickyTracerProvider
}

func (t panickyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.p.starts.Add(1) == t.p.nth {
		panic("tracer bug")
	}
	return t.Tracer.Start(ctx, name, opts...)
}

// TestTraceStartPanicClosesBody: a TraceConfig.TracerProvider of the
// caller's whose Tracer's Start panicked (a bug in it), which the call
// trace and the attempt trace call before handing the request on, left
// the request's body unclosed, which RoundTrip must close on every path (a
// caller recovering the panic, as net/http's server does a handler's, with
// an io.Pipe body had its writer blocked for ever). The body is closed,
// the panic goes on unchanged, nothing is sent; the call span started
// above an attempt whose Start panicked is ended, as for a panic below.
func TestTraceStartPanicClosesBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nth   int64
		build func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper
		ended int // spans ended
	}{
		{"NewCallTrace", 1, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			return transport.NewCallTrace(next, cfg)
		}, 0},
		{"NewAttemptTrace", 1, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			return transport.NewAttemptScope(transport.NewAttemptTrace(next, cfg))
		}, 0},
		{"attempt under a call", 2, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			return transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(next, cfg)), cfg)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newOtelRig(t, nil).twoLevel()
			rig.cfg.TracerProvider = panickyTracerProvider{rig.tp, tc.nth, new(atomic.Int64)}
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			checkPanicBeforeSend(t, tc.build(next, rig.cfg), next, "tracer bug")
			if spans := rig.ended(); len(spans) != tc.ended {
				t.Errorf("%d spans ended, want %d", len(spans), tc.ended)
			}
		})
	}
}

// TestTokenRequestTracePanicClosesBody: the token requests' trace
// (TokenRequestConfig.Trace) called the caller's Tracer's Start and
// Propagator's Inject before handing a token request on, unguarded: one
// that panicked (a bug in it) left the request's body (the client's
// credentials, a caller's body of its own through NewTokenRequests)
// unclosed, which RoundTrip must close on every path, and an Inject
// panic left the token request's span unended. The body is closed, the
// started span ends, and the panic goes on unchanged; nothing is sent.
func TestTokenRequestTracePanicClosesBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(rig *otelRig)
		ended int
	}{
		{"TracerProvider", func(rig *otelRig) {
			rig.cfg.TracerProvider = panickyTracerProvider{rig.tp, 1, new(atomic.Int64)}
		}, 0},
		{"Propagator", func(rig *otelRig) { rig.cfg.Propagator = panickyPropagator{} }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newOtelRig(t, nil)
			tc.set(rig)
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt, err := transport.NewTokenRequests(next, transport.TokenRequestConfig{Trace: &rig.cfg})
			if err != nil {
				t.Fatal(err)
			}
			want := "tracer bug"
			if tc.name == "Propagator" {
				want = "propagator bug"
			}
			checkPanicBeforeSend(t, rt, next, want)
			if spans := rig.ended(); len(spans) != tc.ended {
				t.Errorf("%d spans ended, want %d", len(spans), tc.ended)
			}
		})
	}
}
