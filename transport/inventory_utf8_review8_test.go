package transport_test

import (
	"context"
	"net/url"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
)

// TestInventoryAttributesAreValidUTF8: a route given by the caller
// (WithRoute, SetRoute, Observation.Route: perhaps built from request
// data) and a URL host (a webhook URL a user chose, a Host built by hand)
// may hold bytes that are not UTF-8. OTLP carries attribute values as
// protobuf strings, which must be valid UTF-8: one bad value makes the
// exporter reject the whole batch, every metric of the service with it.
// The inventory's entries, JSON and metric attributes stay valid UTF-8.
func TestInventoryAttributesAreValidUTF8(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inv := newInventory(t, transport.InventoryConfig{MeterProvider: mp})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/x"), Route: "/users/\xff\xfe/orders", StatusCode: 200})
	inv.Record(transport.Observation{Method: "GET", URL: &url.URL{Scheme: "https", Host: "h\xffst.example", Path: "/y"}, StatusCode: 200})
	inv.Record(transport.Observation{Method: "GET", URL: &url.URL{Scheme: "https", Host: "h\xffst.example:8443", Path: "/y"}, Err: context.Canceled})

	for _, e := range inv.Snapshot().Entries {
		for name, v := range map[string]string{"origin": e.Origin, "host": e.Host, "route": e.Route} {
			if !utf8.ValidString(v) {
				t.Errorf("entry %s %q is not valid UTF-8", name, v)
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	check := func(set attribute.Set) {
		for _, kv := range set.ToSlice() {
			if kv.Value.Type() == attribute.STRING && !utf8.ValidString(kv.Value.AsString()) {
				t.Errorf("metric attribute %s = %q is not valid UTF-8", kv.Key, kv.Value.AsString())
			}
		}
	}
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					check(dp.Attributes)
					n++
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					check(dp.Attributes)
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no data points")
	}
}

// TestInventoryCloseStopsMetrics: after Close the meter provider no longer
// calls into the inventory (a closed client's inventory is not kept
// alive by a long-lived provider), and a second Close is harmless.
func TestInventoryCloseStopsMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inv, err := transport.NewInventory(transport.InventoryConfig{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/x"), StatusCode: 200})
	if err := inv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := inv.Close(); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if len(d.DataPoints) > 0 {
					t.Errorf("%s observed after Close: %+v", m.Name, d.DataPoints)
				}
			case metricdata.Gauge[int64]:
				if len(d.DataPoints) > 0 {
					t.Errorf("%s observed after Close: %+v", m.Name, d.DataPoints)
				}
			}
		}
	}
}
