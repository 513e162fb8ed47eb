package transport_test

import (
	"context"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
	"go.opentelemetry.io/otel/propagation"
)

// panickyPropagator is a TextMapPropagator of the caller's with a bug:
// Inject panics.
type panickyPropagator struct{ propagation.TraceContext }

func (panickyPropagator) Inject(context.Context, propagation.TextMapCarrier) { panic("propagator bug") }

// TestAttemptTracePropagatorPanicClosesBody: a TraceConfig.Propagator
// whose Inject panicked (a bug in it), which the attempt trace calls
// before handing the request on, left the request's body unclosed, which
// RoundTrip must close on every path (a caller recovering the panic with
// an io.Pipe body had its writer blocked for ever), and the attempt's
// span never ended. The body is closed, the span ends with error.type
// _OTHER, the panic goes on unchanged, and nothing is sent.
func TestAttemptTracePropagatorPanicClosesBody(t *testing.T) {
	rig := newOtelRig(t, nil).twoLevel()
	rig.cfg.Propagator = panickyPropagator{}
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt := transport.NewAttemptScope(transport.NewAttemptTrace(next, rig.cfg))
	checkPanicBeforeSend(t, rt, next, "propagator bug")
	if spans := rig.ended(); len(spans) != 1 {
		t.Errorf("%d spans ended, want the attempt's", len(spans))
	}
}
