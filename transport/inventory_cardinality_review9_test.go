package transport_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
)

// collectSeries collects once and returns, per instrument of the
// inventory, the attribute sets exported other than the SDK's overflow
// series, and whether the overflow series was exported.
func collectSeries(t *testing.T, reader sdkmetric.Reader) (calls, endpoints map[attribute.Distinct]bool, callsOverflow bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	calls, endpoints = map[attribute.Distinct]bool{}, map[attribute.Distinct]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case transport.MetricAPICalls:
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					if v, ok := dp.Attributes.Value("otel.metric.overflow"); ok && v.AsBool() {
						callsOverflow = true
						continue
					}
					calls[dp.Attributes.Equivalent()] = true
				}
			case transport.MetricAPIEndpoint:
				for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					endpoints[dp.Attributes.Equivalent()] = true
				}
			}
		}
	}
	return calls, endpoints, callsOverflow
}

// TestInventoryMetricsStableUnderSDKCardinalityLimit: an inventory with
// more status-class series than the OTel SDK's cardinality limit (2000 by
// default, the first 1999 distinct sets of a collection kept) must export
// the same series at every collection, and a series once exported must
// stay exported when later calls add series past the limit. Observing the
// entries in map order let different entries win each collection: the
// exported series flapped and a cumulative counter's value moved between
// an entry's own series and the overflow series.
func TestInventoryMetricsStableUnderSDKCardinalityLimit(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)) // default limit: 2000
	inv := newInventory(t, transport.InventoryConfig{MeterProvider: mp})
	u := mustURL(t, "https://api.example.test/")
	for i := range transport.DefaultInventoryMaxEntries {
		route := fmt.Sprintf("/r%d", i)
		for _, code := range []int{200, 404, 503} {
			inv.Record(transport.Observation{Method: "GET", URL: u, Route: route, StatusCode: code})
		}
	}
	first, _, overflow := collectSeries(t, reader)
	if !overflow || len(first) != 1999 {
		t.Fatalf("setup: %d series kept, overflow %v; want the SDK's limit reached", len(first), overflow)
	}
	for range 5 {
		got, _, _ := collectSeries(t, reader)
		if len(got) != len(first) {
			t.Fatalf("exported %d series, then %d", len(first), len(got))
		}
		for k := range first {
			if !got[k] {
				t.Fatal("a series exported at one collection was dropped into the overflow series at the next")
			}
		}
	}
	// New series (a new status class of the first entries, the inventory's
	// own overflow entry) come after the ones already exported.
	inv.Record(transport.Observation{Method: "GET", URL: u, Route: "/r0", StatusCode: 301})
	inv.Record(transport.Observation{Method: "GET", URL: u, Route: "/new", StatusCode: 200})
	got, _, _ := collectSeries(t, reader)
	for k := range first {
		if !got[k] {
			t.Fatal("a new series pushed an exported one into the overflow series")
		}
	}
}

// TestInventoryEndpointGaugeStableUnderSDKCardinalityLimit: with more
// entries than the SDK's limit, the endpoint gauge keeps the same entries
// at every collection.
func TestInventoryEndpointGaugeStableUnderSDKCardinalityLimit(t *testing.T) {
	reader := sdkmetric.NewManualReader(sdkmetric.WithCardinalityLimitSelector(func(sdkmetric.InstrumentKind) (int, bool) { return 50, false }))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inv := newInventory(t, transport.InventoryConfig{MeterProvider: mp})
	u := mustURL(t, "https://api.example.test/")
	for i := range 200 {
		inv.Record(transport.Observation{Method: "GET", URL: u, Route: fmt.Sprintf("/r%d", i), StatusCode: 200})
	}
	_, first, _ := collectSeries(t, reader)
	for range 5 {
		_, got, _ := collectSeries(t, reader)
		for k := range first {
			if !got[k] {
				t.Fatal("an endpoint exported at one collection was dropped at the next")
			}
		}
	}
}
