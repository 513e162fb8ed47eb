package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A call whose context had ended before Do (canceled, or past its
// deadline) sends nothing: net/http refuses it before dialing. The audit
// log, the call span's securecall.attempt_count and the attempt counter
// said 1 attempt, and the *RetryError said 1 attempt; a production SDK
// reports what happened: 0 attempts, the context's error.
func TestContextEndedBeforeCallCountsNoAttempt(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var rig auditRig
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithTracerProvider(tp),
		client.WithMeterProvider(mp),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&rig.mu, &rig.buf}, nil))),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		want    error
		errType string
	}{
		{"canceled", canceled, context.Canceled, transport.ErrorTypeCanceled},
		{"deadline", expired, context.DeadlineExceeded, transport.ErrorTypeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans.Reset()
			rig.mu.Lock()
			rig.buf.Reset()
			rig.mu.Unlock()
			req, _ := http.NewRequestWithContext(tc.ctx, http.MethodGet, srv.URL+"/x", nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("call with an ended context succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if re, ok := errors.AsType[*transport.RetryError](err); ok && re.Attempts != 0 {
				t.Errorf("RetryError.Attempts = %d, want 0 (%v)", re.Attempts, err)
			}
			if got := transport.ErrorType(err); got != tc.errType {
				t.Errorf("ErrorType = %q, want %q", got, tc.errType)
			}
			recs := rig.records(t)
			if len(recs) != 1 {
				t.Fatalf("%d audit records, want 1:\n%s", len(recs), rig.raw())
			}
			if got := recs[0][transport.AuditAttempts]; got != float64(0) {
				t.Errorf("audit attempts = %v, want 0", got)
			}
			if got := recs[0][transport.AuditErrType]; got != tc.errType {
				t.Errorf("audit error.type = %v, want %s", got, tc.errType)
			}
			ss := spans.GetSpans()
			if len(ss) != 1 {
				t.Fatalf("%d spans, want 1 (the call span)", len(ss))
			}
			for _, kv := range ss[0].Attributes {
				if kv.Key == transport.AttemptCountKey && kv.Value.AsInt64() != 0 {
					t.Errorf("%s = %d, want 0", kv.Key, kv.Value.AsInt64())
				}
				if kv.Key == "error.type" && kv.Value.AsString() != tc.errType {
					t.Errorf("span error.type = %s, want %s", kv.Value.AsString(), tc.errType)
				}
			}
		})
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != transport.MetricAttempts {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if dp.Value != 0 {
					t.Errorf("%s counted %d attempts (%v), want none", m.Name, dp.Value, dp.Attributes.ToSlice())
				}
			}
		}
	}
	if served.Load() != 0 {
		t.Errorf("server saw %d requests", served.Load())
	}
}
