package transport_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/transport"
)

// switchMeter is a meter whose instruments are disabled until on is set,
// as the global meter provider's are until otel.SetMeterProvider installs
// one; it keeps the server.address of what it records.
type switchMeter struct {
	metricnoop.Meter
	on    atomic.Bool
	addrs chan string
}

func (m *switchMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return switchHist{m: m}, nil
}

func (m *switchMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return switchCounter{m: m}, nil
}

func (m *switchMeter) keep(opts []attribute.Set) {
	for _, s := range opts {
		v, _ := s.Value("server.address")
		m.addrs <- v.AsString()
	}
}

type switchHist struct {
	metricnoop.Float64Histogram
	m *switchMeter
}

func (h switchHist) Enabled(context.Context) bool { return h.m.on.Load() }
func (h switchHist) Record(_ context.Context, _ float64, opts ...metric.RecordOption) {
	h.m.keep([]attribute.Set{metric.NewRecordConfig(opts).Attributes()})
}

type switchCounter struct {
	metricnoop.Int64Counter
	m *switchMeter
}

func (c switchCounter) Enabled(context.Context) bool { return c.m.on.Load() }
func (c switchCounter) Add(_ context.Context, _ int64, opts ...metric.AddOption) {
	c.m.keep([]attribute.Set{metric.NewAddConfig(opts).Attributes()})
}

type switchProvider struct {
	metricnoop.MeterProvider
	m *switchMeter
}

func (p switchProvider) Meter(string, ...metric.MeterOption) metric.Meter { return p.m }

// TestTraceOffServerAddressMeterTurnedOn: with tracing off, the trace
// layers work out server.address only when a metric records it; an
// instrument disabled when the call starts and enabled before it ends (a
// meter provider installed meanwhile) still records the call's and the
// send's server.address, not an empty one.
func TestTraceOffServerAddressMeterTurnedOn(t *testing.T) {
	m := &switchMeter{addrs: make(chan string, 4)}
	cfg := transport.TraceConfig{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: switchProvider{m: m}}
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		m.on.Store(true) // the provider arrives during the send
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	rt := transport.NewCallTrace(transport.NewAttemptTrace(base, cfg), cfg)
	req, _ := http.NewRequest(http.MethodGet, "https://API.Example.test.:8443/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	close(m.addrs)
	n := 0
	for a := range m.addrs {
		n++
		if a != "api.example.test" {
			t.Errorf("server.address %q, want %q", a, "api.example.test")
		}
	}
	if n != 2 {
		t.Fatalf("%d measurements, want 2 (the call's duration, the send's count)", n)
	}
}
