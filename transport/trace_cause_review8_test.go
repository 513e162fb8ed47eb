package transport_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// errShutdown is a caller's cancellation cause.
var errShutdown = errors.New("service shutting down")

// A caller that cancels with a cause (context.WithCancelCause,
// WithTimeoutCause) gets that cause back from net/http (it returns
// context.Cause(ctx), which does not match context.Canceled or
// DeadlineExceeded). It is still the caller's context that ended: the
// spans, both metrics and the audit record must say canceled (or
// timeout), as for a cancellation without cause, not _OTHER.
func TestErrorTypeOfCanceledWithCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel(errShutdown) // the caller gives up while the server works
		<-r.Context().Done()
	}))
	defer srv.Close()
	base := srv.Client().Transport

	rig := newOtelRig(t, nil).twoLevel()
	var log auditLog
	audit := auditLayer(t, transport.NewAttemptScope(transport.NewAttemptTrace(base, rig.cfg)),
		transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	rt := transport.NewCallTrace(audit, rig.cfg)

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, errShutdown) {
		t.Fatalf("err = %v, want the cause", err)
	}
	checkCanceledTelemetry(t, rig, transport.ErrorTypeCanceled, 2)
	if r := log.records(t)[0]; r["error.type"] != transport.ErrorTypeCanceled {
		t.Errorf("audit error.type = %v, want %s", r["error.type"], transport.ErrorTypeCanceled)
	}
}

// The same for a deadline with a cause: timeout.
func TestErrorTypeOfDeadlineWithCause(t *testing.T) {
	ctx, cancel := context.WithDeadlineCause(t.Context(), time.Unix(1, 0), errShutdown)
	defer cancel()
	// What net/http does once the deadline has passed.
	base := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, context.Cause(r.Context())
	})
	rig := newOtelRig(t, nil).twoLevel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
	if _, err := rig.stack(base).RoundTrip(req); !errors.Is(err, errShutdown) {
		t.Fatalf("err = %v, want the cause", err)
	}
	checkCanceledTelemetry(t, rig, transport.ErrorTypeTimeout, 2)
}

// A body read that fails because the caller canceled with a cause ends
// the spans with error.type canceled.
func TestErrorTypeOfBodyCanceledWithCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	rig := newOtelRig(t, nil).twoLevel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	resp, err := rig.stack(srv.Client().Transport).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel(errShutdown)
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, errShutdown) {
		t.Fatalf("body read error %v, want the cause", err)
	}
	spans := rig.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	for _, s := range spans {
		wantAttr(t, s, "error.type", transport.ErrorTypeCanceled)
	}
}

func checkCanceledTelemetry(t *testing.T, rig *otelRig, want string, nspans int) {
	t.Helper()
	spans := rig.ended()
	if len(spans) != nspans {
		t.Fatalf("%d spans, want %d", len(spans), nspans)
	}
	for _, s := range spans {
		wantAttr(t, s, "error.type", want)
	}
	rm := rig.metrics(t)
	h := findHistogram(t, rm, transport.MetricRequestDuration)
	if len(h.DataPoints) != 1 {
		t.Fatalf("%d duration points", len(h.DataPoints))
	}
	if v, _ := h.DataPoints[0].Attributes.Value("error.type"); v.AsString() != want {
		t.Errorf("duration error.type = %q, want %q", v.AsString(), want)
	}
	sum, ok := findMetric(t, rm, transport.MetricAttempts).Data.(metricdata.Sum[int64])
	if !ok || len(sum.DataPoints) != 1 {
		t.Fatalf("attempts: %+v", sum)
	}
	if v, _ := sum.DataPoints[0].Attributes.Value(transport.OutcomeKey); v.AsString() != want {
		t.Errorf("attempt outcome = %q, want %q", v.AsString(), want)
	}
}
