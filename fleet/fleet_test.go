package fleet

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// eventually polls cond every 20 ms until it holds, failing the test after
// 10 s. It waits for Redis to come back after a restart; it asserts
// nothing about time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noHang runs f and fails the test if it has not returned after 10 s:
// far past every store's Timeout, so only a real hang trips it.
func noHang(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s hung", what)
	}
}

// meter returns a MeterProvider with a manual reader and a function
// reading the current value of MetricDegraded for store.
func meter(t *testing.T) (*sdkmetric.MeterProvider, func(store string) int64) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(store string) int64 {
		var rm metricdata.ResourceMetrics
		if err := r.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != MetricDegraded {
					continue
				}
				sum, ok := m.Data.(metricdata.Sum[int64])
				if !ok {
					t.Fatalf("%s is %T", m.Name, m.Data)
				}
				for _, dp := range sum.DataPoints {
					if v, _ := dp.Attributes.Value(StoreKey); v == attribute.StringValue(store) {
						return dp.Value
					}
				}
			}
		}
		return 0
	}
}
