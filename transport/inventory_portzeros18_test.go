package transport_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
)

// TestInventoryPortLeadingZerosOneEntry: a port written with leading
// zeros is the port net/http dials ("api.example.test:0443" connects port
// 443), so its calls are the same endpoint's, in one entry whose origin
// has the port as dialed. Two entries would have the same method, scheme,
// host, port and route in the JSON (and the same metric attributes), and
// a caller's URLs could spread one endpoint over several entries.
func TestInventoryPortLeadingZerosOneEntry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inv := newInventory(t, transport.InventoryConfig{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	for _, c := range []struct {
		origin string
		urls   []string
	}{
		{"https://api.example.test:443", []string{"https://api.example.test/x", "https://api.example.test:0443/x", "https://api.example.test:00443/x"}},
		{"https://api.example.test:8443", []string{"https://api.example.test:8443/x", "https://api.example.test:08443/x"}},
		{"http://api.example.test:80", []string{"http://api.example.test/x", "http://api.example.test:080/x", "http://api.example.test:00080/x"}},
		{"https://[::1]:443", []string{"https://[::1]/x", "https://[::1]:0443/x"}},
		{"https://api.example.test:0", []string{"https://api.example.test:0/x", "https://api.example.test:000/x"}},
	} {
		for _, s := range c.urls {
			inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, s), StatusCode: 200})
		}
		e, ok := findEntry(inv.Snapshot(), "GET", c.origin, "/x")
		if !ok || e.Calls != uint64(len(c.urls)) {
			t.Errorf("entry %s /x: %+v (found %v), want %d calls", c.origin, e, ok, len(c.urls))
		}
	}
	if n := inv.Len(); n != 5 {
		for _, e := range inv.Snapshot().Entries {
			t.Logf("%s %s port %d %s: %d calls", e.Method, e.Origin, e.Port, e.Route, e.Calls)
		}
		t.Errorf("Len = %d, want 5", n)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == transport.MetricAPICalls {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					total += dp.Value
				}
			}
		}
	}
	if total != 12 {
		t.Errorf("%s sums to %d, want 12 (the calls recorded)", transport.MetricAPICalls, total)
	}
}
