package transport_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestTraceInvalidStatusBoundedMetrics: a status code outside 100-599 (an
// HTTP/2 server may send any integer in :status, HTTP/1.1 any three digits)
// is invalid (RFC 9110 §15: a client treats it as a 5xx). The metrics must
// not take it as an attribute value, or a server could create a new series
// per response; the spans, which are not aggregated, keep it and report an
// error.
func TestTraceInvalidStatusBoundedMetrics(t *testing.T) {
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, nil)
		if twoLevel {
			rig.twoLevel()
		}
		codesSent := []int{-7, 42, 600, 999, 1000, 123456}
		steps := make([]transporttest.Step, len(codesSent))
		for i, c := range codesSent {
			steps[i] = transporttest.Respond(c, "x")
		}
		rt := rig.stack(transporttest.NewResponder(steps...))
		for range codesSent {
			resp, err := rt.RoundTrip(trReq(t, http.MethodGet))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		rm := rig.metrics(t)
		h := findHistogram(t, rm, transport.MetricRequestDuration)
		if len(h.DataPoints) != 1 {
			t.Errorf("twoLevel=%v: %d duration series for %d invalid status codes, want 1:\n%s", twoLevel, len(h.DataPoints), len(codesSent), dumpMetrics(rm))
		}
		for _, p := range h.DataPoints {
			wantSet(t, p.Attributes, map[string]any{"http.request.method": "GET", "server.address": "api.example.test", "server.port": int64(443), "error.type": transport.ErrorTypeOther})
		}
		sum := findMetric(t, rm, transport.MetricAttempts).Data.(metricdata.Sum[int64])
		if len(sum.DataPoints) != 1 {
			t.Errorf("twoLevel=%v: %d attempt series, want 1:\n%s", twoLevel, len(sum.DataPoints), dumpMetrics(rm))
		}
		for _, s := range rig.ended() {
			if s.Status.Code != codes.Error {
				t.Errorf("twoLevel=%v: span %s status %v, want Error for an invalid status code", twoLevel, s.Name, s.Status.Code)
			}
			wantAttr(t, s, "error.type", transport.ErrorTypeOther)
		}
	}
}
