package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// server.address is a metric attribute: a cumulative series keeps it for
// the life of the process (up to the SDK's cardinality limit, 2000 series
// an instrument). url.Parse takes a host of any length and a URL may be a
// user's (webhooks): a host longer than a DNS name, which nothing can
// dial, must not reach the metrics in full.
func TestTraceMetricServerAddressBounded(t *testing.T) {
	r := newOtelRig(t, nil)
	rt := r.stack(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Get", URL: "redacted", Err: errors.New("no such host")}
	}))
	for i := range 3 {
		u, err := url.Parse(fmt.Sprintf("https://%s-%d.example/x", strings.Repeat("a", 10000), i))
		if err != nil {
			t.Fatal(err)
		}
		req := (&http.Request{Method: "GET", URL: u, Header: http.Header{}}).WithContext(context.Background())
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	rm := r.metrics(t)
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			}
			if m.Name == "http.client.request.duration" && len(sets) != 1 {
				t.Errorf("%s: %d series for 3 hosts longer than a DNS name, want 1", m.Name, len(sets))
			}
			for _, set := range sets {
				n++
				for _, kv := range set.ToSlice() {
					if kv.Value.Type() == attribute.STRING && len(kv.Value.AsString()) > 253 {
						t.Errorf("metric %s: %s is %d bytes", m.Name, kv.Key, len(kv.Value.AsString()))
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no metric data points")
	}
	for _, s := range r.ended() {
		for _, kv := range s.Attributes {
			if kv.Key == "server.address" && len(kv.Value.AsString()) > 253 {
				t.Errorf("span %q: server.address is %d bytes", s.Name, len(kv.Value.AsString()))
			}
		}
	}
}
