package fleet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/internal/childtest"
)

// panickyMeterProvider's counters panic (a bug in the caller's
// MeterProvider) once armed.
type panickyMeterProvider struct {
	noop.MeterProvider
	armed *atomic.Bool
}

func (p panickyMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return panickyMeter{armed: p.armed}
}

type panickyMeter struct {
	noop.Meter
	armed *atomic.Bool
}

func (m panickyMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return panickyCounter{armed: m.armed}, nil
}

func (m panickyMeter) Int64UpDownCounter(string, ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return panickyUpDown{armed: m.armed}, nil
}

type panickyCounter struct {
	noop.Int64Counter
	armed *atomic.Bool
}

func (c panickyCounter) Add(context.Context, int64, ...metric.AddOption) {
	if c.armed.Load() {
		panic("meter bug")
	}
}

type panickyUpDown struct {
	noop.Int64UpDownCounter
	armed *atomic.Bool
}

func (c panickyUpDown) Add(context.Context, int64, ...metric.AddOption) {
	if c.armed.Load() {
		panic("meter bug")
	}
}

// A store's Redis health is counted (MetricRedisErrors, MetricDegraded)
// on the store's own goroutines too: a BreakerStore's background read of
// a host. A MeterProvider whose counters panicked (a bug in it) there
// ended the whole process, where no caller's recover reaches. The panic
// is recovered and logged now, as the transport's handshake counters'
// are (054de32), and Redis's state, set before the count, stands: the
// store is marked degraded and goes on answering.
func TestHealthMeterPanicOnBackgroundGoroutineDoesNotCrash(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		srv := redistest.Start(t)
		armed := new(atomic.Bool)
		s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Millisecond, ProbeInterval: time.Hour,
			MeterProvider: panickyMeterProvider{armed: armed}})
		srv.Kill()
		armed.Store(true)
		s.OpenUntil("api.example.com") // starts a background read, which fails
		eventually(t, "the store marked degraded", func() bool { return s.Stats().Degraded })
		settle(t, s)
		if !s.OpenUntil("api.example.com").IsZero() {
			t.Fatal("open without an opening")
		}
	})
}
